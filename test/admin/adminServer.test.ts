// The admin listener on a real socket with sources given here: what a failure of one
// becomes, and a port that is taken.
import t from 'tap';
import { startAdminServer, type AdminSources } from '../../src/admin/adminServer.js';
import { adminRequest } from '../helpers/adminHttp.js';
import { capturingLogger } from '../helpers/capturingLogger.js';
import { testConfig } from '../helpers/testConfig.js';

const sources: AdminSources = {
  passwordHash: () => undefined,
  readiness: async () => ({ ready: false, reason: 'listeners not up: mx' }),
  metrics: async () => {
    throw new Error('the queue cannot be read');
  },
  dashboard: { config: () => testConfig(), queue: () => [], dated: () => [] },
};

t.test('a source that fails: 500, logged, and the listener serves on', async (t) => {
  const { logger, lines } = capturingLogger();
  const server = await startAdminServer('127.0.0.1', 0, sources, logger);
  t.teardown(() => server.close());
  const failed = await adminRequest(server.port, '/metrics');
  t.strictSame({ status: failed.status, body: failed.body }, { status: 500, body: 'internal error\n' });
  t.match(lines, [{ msg: 'admin listening', address: '127.0.0.1', port: server.port, password: false }, { msg: 'admin listener: cannot answer', path: '/metrics', err: 'the queue cannot be read' }]);
  const ready = await adminRequest(server.port, '/readyz');
  t.strictSame({ status: ready.status, body: ready.body }, { status: 503, body: 'not ready: listeners not up: mx\n' });
});

t.test('a port that is taken: the start is refused with the place', async (t) => {
  const { logger } = capturingLogger();
  const first = await startAdminServer('127.0.0.1', 0, sources, logger);
  t.teardown(() => first.close());
  await t.rejects(startAdminServer('127.0.0.1', first.port, sources, logger), { message: `admin listener cannot listen on 127.0.0.1:${first.port}: listen EADDRINUSE: address already in use 127.0.0.1:${first.port}` });
});

import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readiness, spoolWriteProblem } from '../../src/admin/readiness.js';

t.test('readiness: shutting down first, then the listeners, then the spool, then the queue\'s database', async (t) => {
  t.strictSame(readiness({ shuttingDown: false, listenersDown: [], spoolProblem: undefined, queueProblem: undefined }), { ready: true });
  t.strictSame(readiness({ shuttingDown: true, listenersDown: ['smtp'], spoolProblem: 'ENOSPC', queueProblem: 'connect ECONNREFUSED' }), { ready: false, reason: 'shutting down' });
  t.strictSame(readiness({ shuttingDown: false, listenersDown: ['mx', 'submission'], spoolProblem: 'ENOSPC', queueProblem: 'connect ECONNREFUSED' }), { ready: false, reason: 'listeners not up: mx, submission' });
  t.strictSame(readiness({ shuttingDown: false, listenersDown: [], spoolProblem: 'EROFS', queueProblem: 'connect ECONNREFUSED' }), { ready: false, reason: 'spool not writable: EROFS' });
  t.strictSame(readiness({ shuttingDown: false, listenersDown: [], spoolProblem: undefined, queueProblem: 'connect ECONNREFUSED' }), { ready: false, reason: 'queue not reachable: connect ECONNREFUSED' });
});

t.test('spoolWriteProblem: a real write and sync, nothing left behind', async (t) => {
  const dir = t.testdir({ 'message.json': '{}' });
  t.equal(await spoolWriteProblem(dir), undefined);
  t.strictSame(readdirSync(dir), ['message.json'], 'the probe file is gone');
  t.equal(await spoolWriteProblem(join(dir, 'gone')), 'ENOENT', 'a spool folder that is not there');
  t.equal(await spoolWriteProblem(join(dir, 'message.json')), 'ENOTDIR');
});

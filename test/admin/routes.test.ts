import t from 'tap';
import { needsPassword, route } from '../../src/admin/routes.js';

t.test('the route from the method and the path alone', async (t) => {
  t.strictSame(route('GET', '/metrics'), { kind: 'endpoint', endpoint: 'metrics' });
  t.strictSame(route('HEAD', '/healthz'), { kind: 'endpoint', endpoint: 'healthz' });
  t.strictSame(route('GET', '/readyz?verbose=1'), { kind: 'endpoint', endpoint: 'readyz' }, 'a query string changes nothing');
  t.strictSame(route('POST', '/metrics'), { kind: 'method-not-allowed', endpoint: 'metrics' });
  t.strictSame(route('PUT', '/readyz'), { kind: 'method-not-allowed', endpoint: 'readyz' });
  t.strictSame(route('GET', '/?since=7d'), { kind: 'endpoint', endpoint: 'dashboard' });
  t.strictSame(route('GET', '/api/dashboard'), { kind: 'endpoint', endpoint: 'dashboard-data' });
  t.strictSame(route('POST', '/'), { kind: 'method-not-allowed', endpoint: 'dashboard' });
  for (const path of ['', '//', '/index.html', '/api/dashboard/', '/metrics/', '/METRICS', 'constructor', '__proto__', '/toString', 'http://relay.test/metrics', '*']) {
    t.strictSame(route('GET', path), { kind: 'not-found' }, `${path}: not found`);
  }
  t.strictSame(route(undefined, undefined), { kind: 'method-not-allowed', endpoint: 'dashboard' }, 'no URL is /, and no method is none of GET and HEAD');
});

t.test('the password guards all but the probes, unknown paths included', async (t) => {
  t.equal(needsPassword(route('GET', '/metrics')), true);
  t.equal(needsPassword(route('POST', '/metrics')), true);
  t.equal(needsPassword(route('GET', '/nothing')), true);
  t.equal(needsPassword(route('GET', '/')), true, 'the dashboard');
  t.equal(needsPassword(route('GET', '/api/dashboard')), true);
  t.equal(needsPassword(route('GET', '/healthz')), false);
  t.equal(needsPassword(route('GET', '/readyz')), false);
  t.equal(needsPassword(route('DELETE', '/readyz')), false, 'a probe answers 405 without asking for the password');
});

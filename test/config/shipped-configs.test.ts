import t from 'tap';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { SYSTEM_HOSTNAME } from '../helpers/config.js';

// The default config and the examples are documentation an admin copies: they must load,
// on a fresh clone (no certificates yet: they rely on tls.generateIfMissing).
const configDir = fileURLToPath(new URL('../../config/', import.meta.url));

t.test('config/tlsrelay.yaml: the table defaults, a local relay connector, MX with opportunistic TLS', async (t) => {
  const config = loadConfig(`${configDir}tlsrelay.yaml`, SYSTEM_HOSTNAME);
  t.match(config.tls, { cert: `${fileURLToPath(new URL('../../certs/relay.crt', import.meta.url))}`, generateIfMissing: true });
  t.strictSame(config.listeners, [{ name: 'smtp', address: '127.0.0.1', port: 2525, tls: 'starttls', auth: 'none' }]);
  t.strictSame(config.inbound, [{ name: 'local', match: { ips: ['127.0.0.1/32', '::1/128'] }, require: { tls: false }, relay: true }]);
  t.strictSame(config.outbound, [], 'every domain falls to the implicit MX + opportunistic connector');
  t.equal(config.queue.dir, fileURLToPath(new URL('../../var/spool', import.meta.url)));
  t.strictSame(config.admin, { address: '127.0.0.1', port: 9325, passwordHash: undefined }, 'the admin listener on loopback');
});

t.test('config/container.yaml: every address on 2525, certificate and spool in the volumes, JSON logs, relaying only from inside', async (t) => {
  const config = loadConfig(`${configDir}container.yaml`, SYSTEM_HOSTNAME);
  t.strictSame(config.listeners, [{ name: 'smtp', address: '0.0.0.0', port: 2525, tls: 'starttls', auth: 'none' }]);
  // the Dockerfile's VOLUMEs, with the config in /app/config
  t.match(config.tls, { cert: `${fileURLToPath(new URL('../../certs/', import.meta.url))}relay.crt`, key: `${fileURLToPath(new URL('../../certs/', import.meta.url))}relay.key`, generateIfMissing: true });
  t.equal(config.queue.dir, fileURLToPath(new URL('../../var/spool', import.meta.url)));
  t.equal(config.log.format, 'json');
  t.strictSame(config.inbound, [{ name: 'local', match: { ips: ['127.0.0.1/32', '::1/128'] }, require: { tls: false }, relay: true }], 'listening on every address, yet no open relay');
  t.strictSame(config.acceptedDomains, []);
  t.equal(config.admin, undefined, 'no admin listener: loopback inside a container serves nobody outside it');
});

t.test('config/examples/exchange-smarthost.yaml', async (t) => {
  const config = loadConfig(`${configDir}examples/exchange-smarthost.yaml`, SYSTEM_HOSTNAME);
  t.match(config.inbound, [{ match: { certificateNames: ['exchange.contoso.test'] }, relay: true }]);
  t.match(config.outbound, [{ domains: ['contoso.test', '*.contoso.test'], smartHosts: [{ host: 'exchange.contoso.test', port: 25 }], tls: 'verify' }]);
});

t.test('config/examples/partner-forced-tls.yaml', async (t) => {
  const config = loadConfig(`${configDir}examples/partner-forced-tls.yaml`, SYSTEM_HOSTNAME);
  t.match(config.inbound, [
    { name: 'onprem-exchange', match: { ips: ['10.0.0.0/8'], certificateNames: ['exchange.contoso.test'] }, relay: true },
    { match: { senderDomains: ['fabrikam.test', '*.fabrikam.test'] }, require: { tls: true, certificateNames: ['mail.fabrikam.test'] } },
  ]);
  t.match(config.outbound, [
    { name: 'onprem-exchange', domains: ['contoso.test', '*.contoso.test'], smartHosts: [{ host: 'exchange.contoso.test', port: 25 }], tls: 'verify' },
    { domains: ['fabrikam.test', '*.fabrikam.test'], tls: 'verify', tlsNames: ['mail.fabrikam.test'], clientCertificate: true },
  ]);
});

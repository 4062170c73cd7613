// The connectors section: the running config's outbound connectors with what each
// enforces (the implicit default last when nothing takes `*`), and the inbound ones.
import t from 'tap';
import { connectorsView } from '../../../src/admin/dashboard/connectorsView.js';
import { configFromYaml } from '../../helpers/config.js';

t.test('outbound rows: route, level and its meaning; the implicit default last', async (t) => {
  const config = configFromYaml(`
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
acceptedDomains: [contoso.test]
outbound:
  - { name: onprem, domains: [contoso.test], smartHosts: ["exchange.contoso.test", "[::1]:2626"], tls: verify }
  - { name: fabrikam, domains: [fabrikam.test, "*.fabrikam.test"], tls: verify, tlsNames: [mail.fabrikam.test], maxAge: 1d, minVersion: TLSv1.3 }
inbound:
  - { name: exchange, match: { certificateNames: [exchange.contoso.test] }, relay: true }
  - { name: partner, match: { senderDomains: [fabrikam.test] }, require: { tls: true, certificateNames: [mail.fabrikam.test] } }
`);
  const view = connectorsView(config);
  t.same(
    view.outbound.map((row) => [row.name, row.domains, row.route, row.level, row.minVersion, row.maxAge, row.implicit]),
    [
      ['onprem', ['contoso.test'], 'exchange.contoso.test:25, [::1]:2626', 'verify', 'TLSv1.2', '2d', false],
      ['fabrikam', ['fabrikam.test', '*.fabrikam.test'], 'MX', 'verify', 'TLSv1.3', '1d', false],
      ['default', ['*'], 'MX', 'opportunistic', 'TLSv1.2', '2d', true],
    ],
  );
  t.match(view.outbound[1]!.enforces, /must chain to a trusted root .* and name one of mail\.fabrikam\.test/);
  t.match(view.outbound[2]!.enforces, /^STARTTLS when offered, else plaintext/);
  t.same(view.inbound, [
    { name: 'exchange', match: 'certificateNames exchange.contoso.test', requires: 'nothing', relay: true },
    { name: 'partner', match: 'senderDomains fabrikam.test', requires: 'STARTTLS; a trusted client certificate naming mail.fabrikam.test', relay: false },
  ]);
  t.same(view.acceptedDomains, ['contoso.test']);
});

t.test('a connector for `*` takes the implicit default\'s place', async (t) => {
  const view = connectorsView(configFromYaml('listeners: [{ name: smtp, port: 2525, tls: none }]\noutbound: [{ name: everyone, domains: ["*"], tls: encrypt }]\n'));
  t.same(view.outbound.map((row) => [row.name, row.implicit]), [['everyone', false]]);
  t.same(view.inbound, []);
});

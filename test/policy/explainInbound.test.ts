import t from 'tap';
import { explainInbound, type InboundQuery } from '../../src/policy/explainInbound.js';
import { configFromYaml } from '../helpers/config.js';

const config = configFromYaml(`
listeners: [{ name: mx, port: 0 }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
acceptedDomains: [contoso.test, "*.sub.contoso.test"]
inbound:
  - name: onprem
    match: { certificateNames: [exchange.contoso.test] }
    relay: true
  - name: partner-fabrikam
    match: { senderDomains: [fabrikam.test] }
    require: { tls: true, certificateNames: [mail.fabrikam.test], ips: [198.51.100.0/24] }
  - name: local
    match: { ips: [127.0.0.1/32] }
    relay: true
`);

function query(overrides: Partial<InboundQuery>): InboundQuery {
  return { ip: '198.51.100.7', sender: null, certificateName: null, ...overrides };
}

const fabrikamSender = { address: 'alice@fabrikam.test', domain: 'fabrikam.test' };
const relayDenied = { ok: false, code: 550, message: '5.7.1 Relaying denied', reason: 'relaying' };

t.test('a trusted certificate name selects its connector: one session, after STARTTLS', async (t) => {
  const explanation = explainInbound(config, query({ ip: '203.0.113.1', certificateName: 'exchange.contoso.test' }));
  t.equal(explanation.connector?.name, 'onprem');
  t.equal(explanation.reason, 'inbound connector "onprem" selected: its certificateNames match');
  t.same(explanation.mailFrom, [{ session: 'starttls-with-certificate', verdict: { ok: true } }]);
  t.same(explanation.relaying, { to: 'any-domain' });
  t.match(explanation.assumptions, [/certificate naming exchange\.contoso\.test that chains to a trusted root/]);
});

t.test('connectors are tried in file order: the first whose match fields all hold', async (t) => {
  // from 127.0.0.1 with a fabrikam sender: partner-fabrikam is listed before local
  const explanation = explainInbound(config, query({ ip: '127.0.0.1', sender: fabrikamSender }));
  t.equal(explanation.connector?.name, 'partner-fabrikam');
  t.equal(explainInbound(config, query({ ip: '127.0.0.1' })).connector?.name, 'local', 'the null sender matches no senderDomains');
});

t.test('no matching connector: MAIL FROM is accepted, relaying only to accepted domains', async (t) => {
  const explanation = explainInbound(config, query({ sender: { address: 'bob@example.test', domain: 'example.test' } }));
  t.equal(explanation.connector, null);
  t.equal(explanation.reason, 'no inbound connector matches client 198.51.100.7');
  t.same(explanation.mailFrom, [
    { session: 'without-starttls', verdict: { ok: true } },
    { session: 'starttls-without-certificate', verdict: { ok: true } },
  ]);
  t.same(explanation.relaying, { to: 'accepted-domains', acceptedDomains: ['contoso.test', '*.sub.contoso.test'], otherwise: relayDenied });
});

t.test('requirements are judged for each session the facts allow', async (t) => {
  const noCertificate = explainInbound(config, query({ sender: fabrikamSender }));
  t.equal(noCertificate.connector?.name, 'partner-fabrikam');
  t.same(noCertificate.connector?.require, { tls: true, certificateNames: ['mail.fabrikam.test'], ips: ['198.51.100.0/24'] });
  t.match(noCertificate.mailFrom, [
    { session: 'without-starttls', verdict: { ok: false, code: 530, message: '5.7.0 Must issue a STARTTLS command first', reason: 'tls-required' } },
    { session: 'starttls-without-certificate', verdict: { ok: false, code: 530, message: /^5\.7\.1 .*no client certificate was presented/, reason: 'certificate' } },
  ]);
  t.equal(noCertificate.mailFrom.length, 2);

  const wrongName = explainInbound(config, query({ sender: fabrikamSender, certificateName: 'evil.test' }));
  t.match(wrongName.mailFrom, [{ session: 'starttls-with-certificate', verdict: { ok: false, code: 530, message: /names \(evil\.test\) do not match mail\.fabrikam\.test/ } }]);

  const wrongIp = explainInbound(config, query({ ip: '203.0.113.9', sender: fabrikamSender, certificateName: 'mail.fabrikam.test' }));
  t.match(wrongIp.mailFrom, [{ verdict: { ok: false, code: 550, message: /^5\.7\.1 Connector "partner-fabrikam" does not accept this sender from 203\.0\.113\.9/, reason: 'sender-ip' } }]);

  const allMet = explainInbound(config, query({ sender: fabrikamSender, certificateName: 'mail.fabrikam.test' }));
  t.same(allMet.mailFrom, [{ session: 'starttls-with-certificate', verdict: { ok: true } }]);
  t.same(allMet.relaying, { to: 'accepted-domains', acceptedDomains: ['contoso.test', '*.sub.contoso.test'], otherwise: relayDenied }, 'partner-fabrikam does not relay');
});

t.test('the facts given are echoed, and what is assumed is said', async (t) => {
  const explanation = explainInbound(config, query({ sender: fabrikamSender }));
  t.same(explanation.client, { ip: '198.51.100.7', sender: 'alice@fabrikam.test', senderDomain: 'fabrikam.test', certificateName: null });
  t.same(explanation.assumptions, ['the client does not authenticate (SMTP AUTH)']);
  const nullSender = explainInbound(config, query({}));
  t.same(nullSender.client, { ip: '198.51.100.7', sender: null, senderDomain: null, certificateName: null });
  t.match(nullSender.assumptions, [/^MAIL FROM:<> \(the null sender\), which no senderDomains match$/, /SMTP AUTH/]);
});

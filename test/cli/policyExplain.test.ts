import t from 'tap';
import { writeConfig } from '../helpers/relayProcess.js';
import { policyUsageError, runPolicy } from '../helpers/policyInProcess.js';

// The argument checks of `policy explain`, in-process; the exit codes and streams of the
// real binary are in test/e2e/policyExplain.test.ts.

t.test('every malformed call is a UsageError that says what is wrong, before any config is read', async (t) => {
  const cases: Array<[string[], string]> = [
    [[], 'missing subcommand: explain or what-if'],
    [['show', 'a.test'], 'unknown subcommand "show"'],
    [['explain'], 'explain needs a DOMAIN or --inbound IP'],
    [['explain', 'bad..name'], '"bad..name" is not a domain name'],
    [['explain', 'a_b$.test'], '"a_b$.test" is not a domain name'],
    [['explain', '192.0.2.1'], '"192.0.2.1" is not a domain name'],
    [['explain', '*.fabrikam.test'], '"*.fabrikam.test" is not a domain name'],
    [['explain', 'a.test', 'b.test'], 'unexpected argument "b.test"'],
    [['explain', 'a.test', '--inbound', '192.0.2.1'], 'explain takes a DOMAIN or --inbound IP, not both ("a.test")'],
    [['explain', 'a.test', '--sender', 'a@b.test'], '--sender and --cert-name need --inbound IP'],
    [['explain', 'a.test', '--cert-name', 'x.test'], '--sender and --cert-name need --inbound IP'],
    [['explain', '--inbound', '192.0.2.300'], '--inbound "192.0.2.300" is not an IP address'],
    [['explain', '--inbound', 'mail.test'], '--inbound "mail.test" is not an IP address'],
    [['explain', '--inbound', '192.0.2.1', '--sender', 'nobody'], '--sender "nobody" is not an address with a domain (local@domain, or <> for the null sender)'],
    [['explain', '--inbound', '192.0.2.1', '--sender', 'a@[192.0.2.9]'], '--sender "a@[192.0.2.9]" is not an address with a domain (local@domain, or <> for the null sender)'],
    [['explain', '--inbound', '192.0.2.1', '--cert-name', '*'], '--cert-name "*" is not a host name'],
    [['explain', '--inbound', '192.0.2.1', '--cert-name', 'a b'], '--cert-name "a b" is not a host name'],
    [['explain', '--inbound', '192.0.2.1', '--lookup'], '--lookup is for a DOMAIN: an inbound session has nothing published to look up'],
  ];
  for (const [args, message] of cases) {
    t.equal(await policyUsageError([...args, '-c', '/nonexistent/tlsrelay.yaml']), message, args.join(' ') || '(no arguments)');
  }
  t.match(await policyUsageError(['explain', '--inbound']), /'--inbound <value>' argument missing/, 'an option without its value');
});

t.test('accepted spellings: <> and <address> senders, wildcard certificate names, IPv6 clients', async (t) => {
  const file = writeConfig(
    t.testdir(),
    [
      'tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }',
      'inbound:',
      '  - name: wildcard-cert',
      '    match: { certificateNames: ["*.contoso.test"], ips: ["2001:db8::/32"] }',
      '    relay: true',
      '',
    ].join('\n'),
  );
  const explain = async (...args: string[]) => JSON.parse((await runPolicy(['explain', '--json', ...args, '-c', file])).stdout) as { client: unknown; connector: { name: string } | null };

  t.same((await explain('--inbound', '192.0.2.1', '--sender', '<>')).client, { ip: '192.0.2.1', sender: null, senderDomain: null, certificateName: null });
  t.same((await explain('--inbound', '192.0.2.1', '--sender', '<Alice@Fabrikam.TEST>')).client, {
    ip: '192.0.2.1',
    sender: 'Alice@Fabrikam.TEST',
    senderDomain: 'fabrikam.test',
    certificateName: null,
  });
  const wildcard = await explain('--inbound', '2001:DB8::7', '--cert-name', '*.Contoso.test');
  t.same(wildcard.client, { ip: '2001:db8::7', sender: null, senderDomain: null, certificateName: '*.contoso.test' });
  t.equal(wildcard.connector?.name, 'wildcard-cert', 'a certificate wildcard covers the pattern it stands for');
  t.equal((await explain('--inbound', '192.0.2.1', '--cert-name', 'exchange.contoso.test')).connector, null, 'the ips match field still holds');
});

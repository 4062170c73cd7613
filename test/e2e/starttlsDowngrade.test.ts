// Downgrade and STARTTLS injection, outbound: next hops that strip STARTTLS, refuse it
// with odd replies, inject lines behind their 220, reset the handshake or offer only
// TLS versions below the connector's minVersion (the negotiation and buffering cases of
// the USENIX Security 2021 STARTTLS study). A forced level defers with a logged policy
// refusal and never sends MAIL in plaintext; opportunistic delivers in plaintext, on a
// new connection when the peer hung up.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeCa, makeCert } from '../helpers/pki.js';
import { startRelay, writeConfig, type LogLine, type RelayProcess } from '../helpers/relayProcess.js';
import { startScriptedNextHop, type ScriptedNextHop, type StarttlsScript } from '../helpers/scriptedNextHop.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

type Level = 'encrypt' | 'verify' | 'opportunistic';

interface Case {
  name: string;
  script: StarttlsScript;
  /** The connector's minVersion, when the case is about it. */
  minVersion?: 'TLSv1.3';
  /** The deferral a forced level logs. */
  refusal: RegExp;
  /** What opportunistic does instead. */
  opportunistic: { secure: boolean; connections: number };
}

const REFUSED = (reply: string): RegExp => new RegExp(`^450 4\\.7\\.5 TLS is required, but host 127\\.0\\.0\\.1 refused to start TLS: ${reply}`);
const HANDSHAKE_FAILED = /^450 4\.7\.5 Cannot start TLS: handshake failure/;

const CASES: Case[] = [
  { name: 'stripped', script: { kind: 'not-offered' }, refusal: /^450 4\.7\.4 TLS is required, but was not offered by host 127\.0\.0\.1$/, opportunistic: { secure: false, connections: 1 } },
  { name: 'r454', script: { kind: 'refuse', reply: '454 4.7.0 TLS not available', close: false }, refusal: REFUSED('454'), opportunistic: { secure: false, connections: 1 } },
  { name: 'r454-close', script: { kind: 'refuse', reply: '454 4.7.0 TLS not available', close: true }, refusal: REFUSED('454'), opportunistic: { secure: false, connections: 2 } },
  { name: 'r500', script: { kind: 'refuse', reply: '500 5.5.1 Unknown command', close: false }, refusal: REFUSED('500'), opportunistic: { secure: false, connections: 1 } },
  { name: 'r354', script: { kind: 'refuse', reply: '354 go on', close: false }, refusal: REFUSED('354'), opportunistic: { secure: false, connections: 1 } },
  { name: 'r421', script: { kind: 'refuse', reply: '421 4.3.2 Shutting down', close: true }, refusal: REFUSED('421'), opportunistic: { secure: false, connections: 2 } },
  { name: 'reset', script: { kind: 'reset' }, refusal: HANDSHAKE_FAILED, opportunistic: { secure: false, connections: 2 } },
  {
    name: 'tls12-only',
    script: { kind: 'handshake', maxVersion: 'TLSv1.2' },
    minVersion: 'TLSv1.3',
    refusal: HANDSHAKE_FAILED,
    opportunistic: { secure: false, connections: 2 },
  },
];

/** Injected lines behind the 220: never read as replies inside TLS. */
const INJECTIONS = ['250 injected\r\n', '250-scripted.test\r\n250 AUTH PLAIN\r\n', '550 5.7.1 injected refusal\r\n'];

const LEVELS: Level[] = ['encrypt', 'verify', 'opportunistic'];
const domainOf = (level: Level, name: string): string => `${name}.${level}.test`;
const queueIdOf = (response: string): string => /queued as ([0-9a-f]+)/.exec(response)?.[1] ?? 'none';

/** The first attempt with one of these outcomes (an opportunistic fallback logs its failed TLS connection first, as deferred). */
const attemptOf = (relay: RelayProcess, queueId: string, outcomes: string[]): Promise<LogLine> =>
  relay.waitForLog(
    (line) => line.msg === 'delivery attempt' && line.queueId === queueId && outcomes.includes(line.outcome as string),
    `a ${outcomes.join('/')} attempt of ${queueId}`,
  );

const plaintextMail = (hop: ScriptedNextHop): number => hop.commands.filter((command) => command.verb === 'MAIL' && !command.secure).length;

t.test('forced levels defer and never send MAIL in plaintext; opportunistic falls back', async (t) => {
  const ca = await makeCa('downgrade test CA');
  const hopCert = await makeCert({ names: ['localhost'], ips: ['127.0.0.1'], ca });
  const dir = t.testdir();
  writeFileSync(join(dir, 'ca.crt'), ca.cert);

  const hops = new Map<string, ScriptedNextHop>();
  const connectors: string[] = [];
  const add = async (level: Level, name: string, script: StarttlsScript, minVersion?: string): Promise<void> => {
    const hop = await startScriptedNextHop({ starttls: script, cert: hopCert });
    const domain = domainOf(level, name);
    hops.set(domain, hop);
    const floor = minVersion ? `, minVersion: ${minVersion}` : '';
    connectors.push(`  - { name: ${name}-${level}, domains: [${domain}], smartHosts: ["127.0.0.1:${hop.port}"], tls: ${level}${floor} }`);
  };
  for (const level of LEVELS) {
    for (const c of CASES) await add(level, c.name, c.script, c.minVersion);
    for (const [i, inject] of INJECTIONS.entries()) await add(level, `inject${i}`, { kind: 'handshake', inject });
  }
  t.teardown(async () => {
    for (const hop of hops.values()) await hop.close();
  });
  const relay = startRelay(
    writeConfig(
      dir,
      `listeners: [{ name: smtp, port: 0, tls: none }]
tls: { trust: [ca.crt] }
queue: { dir: spool, retry: [1h] }
inbound: [{ name: local, match: { ips: [127.0.0.1/32] }, relay: true }]
outbound:
${connectors.join('\n')}
`,
    ),
  );
  t.teardown(() => relay.stop());
  const port = await relay.port();

  const queueIds = new Map<string, string>();
  for (const domain of hops.keys()) {
    const result = await submit({ port, tls: 'none', from: 'a@client.test', to: [`user@${domain}`], data: sampleMessage(domain) });
    t.match(result, { ok: true }, `${domain} queued`);
    if (result.ok) queueIds.set(domain, queueIdOf(result.response));
  }

  for (const level of LEVELS) {
    for (const c of CASES) {
      const domain = domainOf(level, c.name);
      const hop = hops.get(domain)!;
      const queueId = queueIds.get(domain)!;
      if (level === 'opportunistic') {
        await attemptOf(relay, queueId, ['delivered']);
        t.same(
          hop.received.map((m) => m.secure),
          [c.opportunistic.secure],
          `${domain}: ${c.opportunistic.secure ? 'inside TLS' : 'in plaintext'}`,
        );
        t.equal(hop.connections, c.opportunistic.connections, `${domain}: ${c.opportunistic.connections} connection(s)`);
        continue;
      }
      const attempt = await attemptOf(relay, queueId, ['delivered', 'deferred']);
      t.match(attempt, { outcome: 'deferred', tlsLevel: level, tls: null, response: c.refusal }, `${domain}: deferred as a policy refusal`);
      t.equal(plaintextMail(hop), 0, `${domain}: no MAIL FROM in plaintext`);
      t.equal(hop.received.length, 0, `${domain}: nothing delivered`);
    }
    for (const [i] of INJECTIONS.entries()) {
      const domain = domainOf(level, `inject${i}`);
      const hop = hops.get(domain)!;
      const attempt = await attemptOf(relay, queueIds.get(domain)!, ['delivered', 'deferred']);
      t.equal(plaintextMail(hop), 0, `${domain}: no MAIL FROM in plaintext`);
      // the injected text must not count as the reply to anything sent inside TLS: with
      // it taken as the reply to EHLO, every later reply would be off by one
      t.match(attempt, { outcome: 'delivered', response: /^250 2\.0\.0 Ok: queued by scripted hop/, tls: { protocol: 'TLSv1.3' } }, `${domain}: delivered with the real replies, inside TLS`);
      t.same(hop.received.map((m) => m.secure), [true], `${domain}: the message went inside TLS`);
      t.ok(hop.commands.some((command) => command.verb === 'EHLO' && command.secure), `${domain}: EHLO was repeated inside TLS`);
    }
  }
});

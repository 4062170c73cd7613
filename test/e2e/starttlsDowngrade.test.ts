// Downgrade and STARTTLS injection, outbound: next hops that strip STARTTLS, refuse it
// with odd replies, inject lines behind their 220, reset the handshake or offer only
// TLS versions below the connector's minVersion, and the study's odd replies to the
// greeting, EHLO and HELO (the negotiation, buffering and "others" cases of the USENIX
// Security 2021 STARTTLS study, testcases/smtp/ of its fake-mail-server). A forced level
// defers with a logged refusal and never sends MAIL in plaintext; opportunistic delivers
// in plaintext (on a new connection when the peer hung up) where the peer offers no TLS,
// and neither level takes injected lines for replies.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeCa, makeCert } from '../helpers/pki.js';
import { startRelay, writeConfig, type LogLine, type RelayProcess } from '../helpers/relayProcess.js';
import { startScriptedNextHop, type RecordedCommand, type ScriptedNextHop, type ScriptedNextHopOptions, type StarttlsScript } from '../helpers/scriptedNextHop.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

type Level = 'encrypt' | 'verify' | 'opportunistic';

/** Delivered: inside TLS or in plaintext, over this many connections. */
interface Delivered {
  secure: boolean;
  connections: number;
}

interface Case {
  name: string;
  hop: Omit<ScriptedNextHopOptions, 'cert'>;
  /** The connector's minVersion, when the case is about it. */
  minVersion?: 'TLSv1.3';
  /** What a forced level does: defers with this text (the whole of it, or matching), or delivers inside TLS on one connection. */
  forced: string | RegExp | 'inside TLS';
  /** What opportunistic does: delivers, or defers with this text. */
  opportunistic: Delivered | string | RegExp;
  /** The relay sends the peer nothing at all, not even EHLO. */
  quiet?: true;
}

const REFUSED = (reply: string): RegExp => new RegExp(`^450 4\\.7\\.5 TLS is required, but host 127\\.0\\.0\\.1 refused to start TLS: ${reply}`);
const HANDSHAKE_FAILED = /^450 4\.7\.5 Cannot start TLS: handshake failure/;
const NOT_OFFERED = '450 4.7.4 TLS is required, but was not offered by host 127.0.0.1';
/** A greeting, EHLO or HELO reply that ends the session before any TLS question. */
const WONT_TALK = (reply: string): string => `451 4.4.0 host 127.0.0.1 refused to talk to me: ${reply}`;
/** Lines that came with the greeting answer nothing: the session is dropped before EHLO. */
const UNSOLICITED = (lines: string): string => `451 4.5.0 host 127.0.0.1 sent lines nobody asked for with its greeting, before EHLO: ${lines}; session dropped`;
const PLAINTEXT: Delivered = { secure: false, connections: 1 };
const TLS: Delivered = { secure: true, connections: 1 };
const starttls = (script: StarttlsScript): Case['hop'] => ({ starttls: script });
/** A peer that could do TLS, were it asked. */
const CAPABLE = starttls({ kind: 'handshake' });
const EHLO_UNKNOWN = '500 5.5.2 Syntax error, command unrecognized';

const CASES: Case[] = [
  // negotiation (O_1–O_4, D_1)
  { name: 'stripped', hop: starttls({ kind: 'not-offered' }), forced: NOT_OFFERED, opportunistic: PLAINTEXT },
  { name: 'r454', hop: starttls({ kind: 'refuse', reply: '454 4.7.0 TLS not available', close: false }), forced: REFUSED('454'), opportunistic: PLAINTEXT },
  { name: 'r454-close', hop: starttls({ kind: 'refuse', reply: '454 4.7.0 TLS not available', close: true }), forced: REFUSED('454'), opportunistic: { secure: false, connections: 2 } },
  { name: 'r500', hop: starttls({ kind: 'refuse', reply: '500 5.5.1 Unknown command', close: false }), forced: REFUSED('500'), opportunistic: PLAINTEXT },
  { name: 'r354', hop: starttls({ kind: 'refuse', reply: '354 go on', close: false }), forced: REFUSED('354'), opportunistic: PLAINTEXT },
  { name: 'r421', hop: starttls({ kind: 'refuse', reply: '421 4.3.2 Shutting down', close: true }), forced: REFUSED('421'), opportunistic: { secure: false, connections: 2 } },
  { name: 'reset', hop: starttls({ kind: 'reset' }), forced: HANDSHAKE_FAILED, opportunistic: { secure: false, connections: 2 } },
  { name: 'tls12-only', hop: starttls({ kind: 'handshake', maxVersion: 'TLSv1.2' }), minVersion: 'TLSv1.3', forced: HANDSHAKE_FAILED, opportunistic: { secure: false, connections: 2 } },
  // D_1: no ESMTP at all, so no STARTTLS: EHLO unknown, HELO works
  { name: 'd1', hop: { starttls: { kind: 'not-offered' }, ehlo: '502 5.5.2 Error: command not recognized' }, forced: NOT_OFFERED, opportunistic: PLAINTEXT },
  // odd greetings (others/greeting)
  { name: 'greeting-multiline', hop: { ...CAPABLE, greeting: '220-scripted.test ESMTP\r\n220-second line of the greeting\r\n220 ready\r\n' }, forced: 'inside TLS', opportunistic: TLS },
  ...['221 2.0.0 Bye', '354 Start mail input', '421 4.3.2 Not now', '500 5.5.1 Syntax error', '554 5.3.2 No SMTP service here'].map(
    (reply): Case => ({ name: `greeting${reply.slice(0, 3)}`, hop: { ...CAPABLE, greeting: `${reply}\r\n` }, forced: WONT_TALK(reply), opportunistic: WONT_TALK(reply) }),
  ),
  // 220 and, in the same packet, what would be read as the EHLO reply: one without STARTTLS
  {
    name: 'greeting-injected-ehlo',
    hop: { ...CAPABLE, greeting: '220 scripted.test ESMTP\r\n250-injected.test\r\n250 8BITMIME\r\n' },
    forced: UNSOLICITED('250-injected.test 250 8BITMIME'),
    opportunistic: UNSOLICITED('250-injected.test 250 8BITMIME'),
    quiet: true,
  },
  // … or the replies of a whole transaction: read as such, the relay would think a message delivered that never left
  {
    name: 'greeting-injected-transaction',
    hop: { starttls: { kind: 'not-offered' }, greeting: '220 scripted.test ESMTP\r\n250 hello\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go on\r\n250 2.0.0 Ok: queued as INJECTED\r\n' },
    forced: UNSOLICITED('250 hello 250 2.1.0 Ok 250 2.1.5 Ok 354 go on 250 2.0.0 Ok: queued as INJECTED'),
    opportunistic: UNSOLICITED('250 hello 250 2.1.0 Ok 250 2.1.5 Ok 354 go on 250 2.0.0 Ok: queued as INJECTED'),
    quiet: true,
  },
  // odd replies to EHLO (others/ehlo): a 2xx without STARTTLS, or a refusal and HELO
  { name: 'ehlo250-empty', hop: { ...CAPABLE, ehlo: '250 scripted.test' }, forced: NOT_OFFERED, opportunistic: PLAINTEXT },
  { name: 'ehlo220', hop: { ...CAPABLE, ehlo: '220 EHLO client!' }, forced: NOT_OFFERED, opportunistic: PLAINTEXT },
  ...['354 Start mail input', EHLO_UNKNOWN, '502 5.5.1 Command not implemented', '530 5.7.0 Must issue a STARTTLS command first', '550 5.7.1 No'].map(
    (reply): Case => ({ name: `ehlo${reply.slice(0, 3)}`, hop: { ...CAPABLE, ehlo: reply }, forced: NOT_OFFERED, opportunistic: PLAINTEXT }),
  ),
  { name: 'ehlo421', hop: { ...CAPABLE, ehlo: '421 4.3.2 Closing' }, forced: WONT_TALK('421 4.3.2 Closing'), opportunistic: WONT_TALK('421 4.3.2 Closing') },
  // EHLO unknown, then odd replies to HELO (others/helo)
  { name: 'helo220', hop: { ...CAPABLE, ehlo: EHLO_UNKNOWN, helo: '220 HELO client!' }, forced: NOT_OFFERED, opportunistic: PLAINTEXT },
  ...['421 4.3.2 Closing', '501 5.5.4 Syntax error', '530 5.7.0 Authentication required'].map(
    (reply): Case => ({ name: `helo${reply.slice(0, 3)}`, hop: { ...CAPABLE, ehlo: EHLO_UNKNOWN, helo: reply }, forced: WONT_TALK(reply), opportunistic: WONT_TALK(reply) }),
  ),
  // STARTTLS answered with a continuation line before the 220: one reply, then TLS
  { name: 'starttls-multiline', hop: starttls({ kind: 'handshake', reply: '220-Go ahead\r\n220 2.0.0 Ready to start TLS' }), forced: 'inside TLS', opportunistic: TLS },
];

/** Injected lines behind the 220: never read as replies inside TLS. */
const INJECTIONS = ['250 injected\r\n', '250-scripted.test\r\n250 AUTH PLAIN\r\n', '550 5.7.1 injected refusal\r\n'];

const LEVELS: Level[] = ['encrypt', 'verify', 'opportunistic'];
const domainOf = (level: Level, name: string): string => `${name}.${level}.test`;
const queueIdOf = (response: string): string => /queued as ([0-9a-f]+)/.exec(response)?.[1] ?? 'none';

/** The attempt that settled the message: not the broken TLS connection an opportunistic fallback logs first. */
const settlingAttempt = (relay: RelayProcess, queueId: string): Promise<LogLine> =>
  relay.waitForLog(
    (line) => line.msg === 'delivery attempt' && line.queueId === queueId && !/; retrying in plaintext$/.test(String(line.response)),
    `the attempt that settled ${queueId}`,
  );

const mailCommands = (hop: ScriptedNextHop): RecordedCommand[] => hop.commands.filter((command) => command.verb === 'MAIL');

t.test('forced levels defer and never send MAIL in plaintext; opportunistic falls back; injected lines are never replies', async (t) => {
  const ca = await makeCa('downgrade test CA');
  const hopCert = await makeCert({ names: ['localhost'], ips: ['127.0.0.1'], ca });
  const dir = t.testdir();
  writeFileSync(join(dir, 'ca.crt'), ca.cert);

  const hops = new Map<string, ScriptedNextHop>();
  const connectors: string[] = [];
  const add = async (level: Level, name: string, options: Case['hop'], minVersion?: string): Promise<void> => {
    const hop = await startScriptedNextHop({ ...options, cert: hopCert });
    const domain = domainOf(level, name);
    hops.set(domain, hop);
    const floor = minVersion ? `, minVersion: ${minVersion}` : '';
    connectors.push(`  - { name: ${name}-${level}, domains: [${domain}], smartHosts: ["127.0.0.1:${hop.port}"], tls: ${level}${floor} }`);
  };
  for (const level of LEVELS) {
    for (const c of CASES) await add(level, c.name, c.hop, c.minVersion);
    for (const [i, inject] of INJECTIONS.entries()) await add(level, `inject${i}`, starttls({ kind: 'handshake', inject }));
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
      const attempt = await settlingAttempt(relay, queueIds.get(domain)!);
      const expected = level === 'opportunistic' ? c.opportunistic : c.forced;
      if (typeof expected === 'string' && expected !== 'inside TLS') {
        t.match(attempt, { outcome: 'deferred', tlsLevel: level, tls: null }, `${domain}: deferred`);
        t.equal(attempt.response, expected, `${domain}: ${expected}`);
      } else if (expected instanceof RegExp) {
        t.match(attempt, { outcome: 'deferred', tlsLevel: level, tls: null, response: expected }, `${domain}: deferred as a policy refusal`);
      } else {
        const delivered = expected === 'inside TLS' ? TLS : expected;
        t.match(attempt, { outcome: 'delivered', response: /^250 2\.0\.0 Ok: queued by scripted hop/ }, `${domain}: delivered`);
        t.same(hop.received.map((m) => m.secure), [delivered.secure], `${domain}: ${delivered.secure ? 'inside TLS' : 'in plaintext'}`);
        t.equal(hop.connections, delivered.connections, `${domain}: ${delivered.connections} connection(s)`);
      }
      if (attempt.outcome === 'deferred') t.same(mailCommands(hop), [], `${domain}: no MAIL FROM at all`);
      if (level !== 'opportunistic') t.notOk(mailCommands(hop).some((command) => !command.secure), `${domain}: no MAIL FROM in plaintext`);
      if (c.quiet) t.same(hop.commands, [], `${domain}: not even EHLO was sent`);
    }
    for (const [i] of INJECTIONS.entries()) {
      const domain = domainOf(level, `inject${i}`);
      const hop = hops.get(domain)!;
      const attempt = await settlingAttempt(relay, queueIds.get(domain)!);
      t.notOk(mailCommands(hop).some((command) => !command.secure), `${domain}: no MAIL FROM in plaintext`);
      // the injected text must not count as the reply to anything sent inside TLS: with
      // it taken as the reply to EHLO, every later reply would be off by one
      t.match(attempt, { outcome: 'delivered', response: /^250 2\.0\.0 Ok: queued by scripted hop/, tls: { protocol: 'TLSv1.3' } }, `${domain}: delivered with the real replies, inside TLS`);
      t.same(hop.received.map((m) => m.secure), [true], `${domain}: the message went inside TLS`);
      t.ok(hop.commands.some((command) => command.verb === 'EHLO' && command.secure), `${domain}: EHLO was repeated inside TLS`);
    }
  }
});

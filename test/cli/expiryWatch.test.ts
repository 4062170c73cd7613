// The running relay's expiry warnings as its log shows them, driven by a clock the test
// sets: one line per warning instant, none repeated by a reload, a renewed file judged anew.
import t from 'tap';
import { createLogger } from '../../src/log.js';
import { ExpiryWatch } from '../../src/cli/expiryWatch.js';
import type { Dated } from '../../src/tls/dated.js';

const DAY = 86_400_000;
const END = new Date('2027-03-31T12:00:00.000Z');

function watched(): { watch: ExpiryWatch; lines: Array<Record<string, unknown>>; setNow: (offset: number) => void } {
  const lines: Array<Record<string, unknown>> = [];
  let now = new Date(END.getTime() - 40 * DAY);
  const logger = createLogger('info', { write: (text: string) => lines.push(JSON.parse(text) as Record<string, unknown>) });
  const watch = new ExpiryWatch(logger, () => now);
  t.teardown(() => watch.stop());
  return { watch, lines, setNow: (offset) => (now = new Date(END.getTime() + offset)) };
}

const served = (end = END): Dated => ({ kind: 'certificate', setting: 'tls.cert', file: '/etc/tlsrelay/relay.crt', place: 'tlsrelay.yaml:3:14', subject: 'CN=relay.contoso.test', end });
const anchor: Dated = { kind: 'trust-anchor', setting: 'tls.trust', file: '/etc/tlsrelay/partner-ca.crt', place: 'tlsrelay.yaml:4:19', subject: 'CN=Partner CA', end: new Date(END.getTime() + 2 * DAY) };
const connectorCrl: Dated = { kind: 'crl', setting: 'outbound[1].crl', connector: 'partner', file: '/etc/tlsrelay/partner.crl', place: 'tlsrelay.yaml:9:11', subject: 'CN=Partner CA', end: END };

t.test('one line at each instant, with the facts in fields', async (t) => {
  const { watch, lines, setNow } = watched();
  watch.watch(() => [served()]);
  t.equal(lines.length, 0, '40 days before: nothing');
  for (const [offset, expected] of [
    [-30 * DAY, 1],
    [-20 * DAY, 1],
    [-14 * DAY, 2],
    [-8 * DAY, 2],
    [-7 * DAY + 60_000, 3],
    [-6 * DAY, 4],
    [-6 * DAY + 12 * 3_600_000, 4],
  ] as const) {
    setNow(offset);
    watch.check();
    t.equal(lines.length, expected, `${offset / DAY} days: ${expected} lines`);
  }
  t.match(lines[0], {
    level: 40,
    msg: 'our certificate expires soon; renew it before then',
    setting: 'tls.cert',
    file: '/etc/tlsrelay/relay.crt',
    where: 'tlsrelay.yaml:3:14',
    subject: 'CN=relay.contoso.test',
    expires: END.toISOString(),
    daysLeft: 30,
  });
  t.strictSame(
    lines.map((line) => line.daysLeft),
    [30, 14, 6, 6],
    'daysLeft counts whole days (7 days less a minute is 6)',
  );
});

t.test('a reload with the same files repeats nothing; a renewed certificate is judged anew', async (t) => {
  const { watch, lines, setNow } = watched();
  setNow(-10 * DAY);
  watch.watch(() => [served()]);
  t.equal(lines.length, 1, 'the start warns about what is due');
  watch.watch(() => [served()]);
  t.equal(lines.length, 1, 'a reload of the same certificate: quiet');
  watch.watch(() => [served(new Date(END.getTime() + 80 * DAY))]);
  t.equal(lines.length, 1, 'renewed for 90 days: nothing to say');
  watch.watch(() => [served(new Date(END.getTime() + 15 * DAY))]);
  t.equal(lines.length, 2, 'renewed, but for 25 days only: said at once');
  t.equal(lines[1]!.daysLeft, 25);
  watch.watch(() => [served()]);
  t.equal(lines.length, 3, 'back to the old one: forgotten once it was gone, so warned about again');
});

t.test('anchors and CRLs: soon, then past, daily; a connector CRL names its connector', async (t) => {
  const { watch, lines, setNow } = watched();
  setNow(-DAY - 1);
  watch.watch(() => [anchor, connectorCrl]);
  t.strictSame(
    lines.map((line) => line.msg),
    ['a trust anchor (tls.trust) expires soon; replace it before then', 'a CRL reaches its nextUpdate soon; install a newer one before then'],
  );
  t.match(lines[1], { setting: 'outbound[1].crl', connector: 'partner', file: '/etc/tlsrelay/partner.crl', subject: 'CN=Partner CA', daysLeft: 1 });
  t.notOk('connector' in lines[0]!, 'no connector field where no connector names the file');
  setNow(0);
  watch.check();
  t.equal(lines.at(-1)!.msg, 'a CRL is past its nextUpdate: the certificates its issuer signed fail verification (CRL_HAS_EXPIRED) until a newer one is installed');
  t.equal(lines.length, 4, 'and the anchor, one day left');
  setNow(3 * DAY);
  watch.check();
  t.strictSame(
    lines.slice(4).map((line) => [line.msg, line.daysLeft]),
    [
      ['a trust anchor (tls.trust) has expired: certificates that chain only to it no longer verify', -1],
      ['a CRL is past its nextUpdate: the certificates its issuer signed fail verification (CRL_HAS_EXPIRED) until a newer one is installed', -3],
    ],
    'days later: each once more',
  );
});

t.test('check says when to look again: the next instant, a day ahead at most', async (t) => {
  const { watch, setNow } = watched();
  watch.watch(() => [served()]);
  setNow(-7 * DAY - 3_600_000);
  t.strictSame(watch.check(), new Date(END.getTime() - 7 * DAY));
  setNow(-50 * DAY);
  t.strictSame(watch.check(), new Date(END.getTime() - 49 * DAY));
});

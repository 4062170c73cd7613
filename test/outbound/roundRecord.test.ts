import t from 'tap';
import { RoundRecord, type DomainOutcome, type RoundWriter } from '../../src/outbound/roundRecord.js';
import type { RecipientResult } from '../../src/queue/types.js';

function delivered(address: string): RecipientResult {
  return { address, outcome: 'delivered', code: 250, response: '250 2.0.0 Ok' };
}

function deferred(address: string): RecipientResult {
  return { address, outcome: 'deferred', code: 451, response: '451 4.3.0 Later' };
}

function outcome(domain: string, recipients: RecipientResult[]): DomainOutcome {
  return { domain, recipients, attempts: [] };
}

/** A writer that notes each write; `hold` keeps the next write open until the returned function is called. */
function notingWriter(): RoundWriter & { writes: string[]; hold(): () => void } {
  const writes: string[] = [];
  let held: Promise<void> | undefined;
  const write = async (what: string): Promise<void> => {
    const wait = held;
    held = undefined;
    writes.push(`${what} begun`);
    await wait;
    writes.push(`${what} done`);
  };
  return {
    writes,
    hold() {
      let release = (): void => undefined;
      held = new Promise((resolve) => (release = resolve));
      return release;
    },
    deliveries: (domain, addresses, rest) => write(`deliveries ${domain} ${addresses.join(',')} (${rest} left)`),
    round: (outcomes) => write(`round ${outcomes.map((o) => `${o.domain}:${o.recipients.map((r) => r.outcome).join('+')}`).join(' ')}`),
  };
}

t.test('one domain: its first outcome writes the round, once', async (t) => {
  const writer = notingWriter();
  const round = new RoundRecord(['a.test'], writer);
  await round.finish(outcome('a.test', [delivered('x@a.test')]));
  await round.written;
  // the end of the domain's delivery reports the same message again
  await round.finish(outcome('a.test', [deferred('x@a.test')]));
  t.same(writer.writes, ['round a.test:delivered begun', 'round a.test:delivered done']);
});

t.test('several domains: deliveries written as each domain finishes, the round with the last, in the domains order', async (t) => {
  const writer = notingWriter();
  const round = new RoundRecord(['a.test', 'b.test', 'c.test'], writer);
  await round.finish(outcome('b.test', [delivered('x@b.test'), delivered('y@b.test')]));
  // a domain that only deferred has nothing to write early
  await round.finish(outcome('c.test', [deferred('x@c.test')]));
  let written = false;
  void round.written.then(() => (written = true));
  await Promise.resolve();
  t.notOk(written, 'the round is not written before every domain has its outcome');
  await round.finish(outcome('a.test', [delivered('x@a.test')]));
  await round.written;
  t.same(writer.writes, ['deliveries b.test x@b.test,y@b.test (domains left) begun', 'deliveries b.test x@b.test,y@b.test (domains left) done', 'round a.test:delivered b.test:delivered+delivered c.test:deferred begun', 'round a.test:delivered b.test:delivered+delivered c.test:deferred done']);
});

t.test('deliveries while other recipients of the domain are still open; none after the domain finished', async (t) => {
  const writer = notingWriter();
  const round = new RoundRecord(['a.test', 'b.test'], writer);
  await round.delivered('a.test', ['x@a.test']);
  await round.delivered('a.test', []);
  await round.finish(outcome('a.test', [delivered('x@a.test'), deferred('y@a.test')]));
  await round.delivered('a.test', ['y@a.test']);
  // a domain the round does not have is not written
  await round.delivered('z.test', ['x@z.test']);
  await round.finish(outcome('z.test', [delivered('x@z.test')]));
  t.same(writer.writes, ['deliveries a.test x@a.test (recipients left) begun', 'deliveries a.test x@a.test (recipients left) done', 'deliveries a.test x@a.test (domains left) begun', 'deliveries a.test x@a.test (domains left) done']);
});

t.test('writes are made one after the other: the round waits for an early write in progress', async (t) => {
  const writer = notingWriter();
  const round = new RoundRecord(['a.test', 'b.test'], writer);
  const release = writer.hold();
  const early = round.finish(outcome('a.test', [delivered('x@a.test')]));
  const last = round.finish(outcome('b.test', [delivered('x@b.test')]));
  await Promise.resolve();
  t.same(writer.writes, ['deliveries a.test x@a.test (domains left) begun']);
  release();
  await Promise.all([early, last, round.written]);
  t.same(writer.writes, ['deliveries a.test x@a.test (domains left) begun', 'deliveries a.test x@a.test (domains left) done', 'round a.test:delivered b.test:delivered begun', 'round a.test:delivered b.test:delivered done']);
});

t.test('a message with no domain in the round is written at once (there is nothing to write)', async (t) => {
  const writer = notingWriter();
  const round = new RoundRecord([], writer);
  await round.written;
  t.same(writer.writes, []);
});

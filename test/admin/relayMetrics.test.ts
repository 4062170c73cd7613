// The metrics as a scrape shows them, with the sources given here (the relay's are in
// test/e2e/adminMetrics.test.ts).
import t from 'tap';
import { RelayMetrics } from '../../src/admin/relayMetrics.js';
import type { QueueCounts } from '../../src/queue/messageState.js';
import type { AttemptRecord } from '../../src/queue/types.js';
import type { Dated } from '../../src/tls/dated.js';
import { sessionRecord } from '../helpers/transitRecords.js';
import { parseSamples, sampleValue } from '../helpers/adminHttp.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const EMPTY: QueueCounts = { byState: { due: 0, deferred: 0, held: 0 }, oldestReceivedAt: undefined };
const dated = (kind: Dated['kind'], subject: string, end: string): Dated => ({ kind, setting: 'tls.cert', file: '/certs/x.pem', place: undefined, subject, end: new Date(end) });

function metrics(sources: { queue?: () => QueueCounts; dated?: () => Dated[] } = {}): RelayMetrics {
  return new RelayMetrics({ queue: sources.queue ?? (() => EMPTY), dated: sources.dated ?? (() => []) }, ['mx', 'submission'], () => NOW);
}

const scrape = async (relay: RelayMetrics) => parseSamples(await relay.text());

t.test('every configured listener shows its sessions, 0 included', async (t) => {
  const relay = metrics();
  relay.sessionOpened('mx');
  relay.sessionOpened('mx');
  relay.sessionClosed('mx');
  const samples = await scrape(relay);
  t.equal(sampleValue(samples, 'tlsrelay_smtp_sessions', { listener: 'mx' }), 1);
  t.equal(sampleValue(samples, 'tlsrelay_smtp_sessions', { listener: 'submission' }), 0);
});

t.test('the queue read at each scrape; an empty one has no age', async (t) => {
  let counts = EMPTY;
  const relay = metrics({ queue: () => counts });
  t.equal(sampleValue(await scrape(relay), 'tlsrelay_queue_oldest_message_age_seconds'), 0);
  counts = { byState: { due: 1, deferred: 5, held: 2 }, oldestReceivedAt: NOW - 90_000 };
  const samples = await scrape(relay);
  t.equal(sampleValue(samples, 'tlsrelay_queue_oldest_message_age_seconds'), 90);
  t.strictSame(['due', 'deferred', 'held'].map((state) => sampleValue(samples, 'tlsrelay_queue_messages', { state })), [1, 5, 2]);
  counts = { ...counts, oldestReceivedAt: NOW + 5_000 };
  t.equal(sampleValue(await scrape(relay), 'tlsrelay_queue_oldest_message_age_seconds'), 0, 'a clock behind the message: no negative age');
});

t.test('expiry: one series per role and subject, the sooner end; gone when no longer configured', async (t) => {
  let items = [dated('certificate', 'CN=relay.test', '2027-03-01T00:00:00Z'), dated('certificate', 'CN=relay.test', '2027-02-01T00:00:00Z'), dated('crl', 'CN=Partner CA', '2026-12-08T00:00:00Z')];
  const relay = metrics({ dated: () => items });
  let samples = await scrape(relay);
  t.equal(sampleValue(samples, 'tlsrelay_certificate_expiry_timestamp_seconds', { role: 'certificate', subject: 'CN=relay.test' }), Date.parse('2027-02-01T00:00:00Z') / 1000, 'RSA beside ECDSA: the sooner one');
  t.equal(sampleValue(samples, 'tlsrelay_certificate_expiry_timestamp_seconds', { role: 'crl' }), Date.parse('2026-12-08T00:00:00Z') / 1000);
  items = [dated('certificate', 'CN=relay.test', '2028-01-01T00:00:00Z')];
  samples = await scrape(relay);
  t.equal(sampleValue(samples, 'tlsrelay_certificate_expiry_timestamp_seconds', { role: 'crl' }), undefined, 'the CRL left the config: no stale series');
  t.equal(sampleValue(samples, 'tlsrelay_certificate_expiry_timestamp_seconds', { role: 'certificate' }), Date.parse('2028-01-01T00:00:00Z') / 1000, 'the renewed certificate');
});

t.test('attempts, durations and failures', async (t) => {
  const relay = metrics();
  const attempt = (fields: Partial<AttemptRecord>): AttemptRecord => ({ at: '2026-12-01T12:00:30Z', domain: 'fabrikam.test', connector: 'fabrikam', tlsLevel: 'verify', host: 'mx:25', tls: { protocol: 'TLSv1.2', cipher: 'X' }, verdict: 'verified', outcome: 'delivered', code: 250, response: '250 ok', ...fields });
  relay.attempted(attempt({}), 'connector', '2026-12-01T12:00:00Z');
  relay.attempted(attempt({ outcome: 'deferred', tls: null, verdict: 'none', code: 451 }), 'none', '2026-12-01T12:00:00Z');
  relay.attempted(attempt({ at: '2026-12-01T11:59:00Z' }), 'connector', '2026-12-01T12:00:00Z');
  relay.accepted('mx', undefined, false);
  relay.sessionRecorded(sessionRecord({ failure: 'certificate-expired' }));
  relay.sessionRecorded(sessionRecord({ ip: null, failure: 'dnssec-invalid' }));
  relay.sessionRecorded(sessionRecord({ failure: null }));
  relay.handshakeFailed('mx', 'no shared cipher');
  const samples = await scrape(relay);
  t.equal(sampleValue(samples, 'tlsrelay_delivery_attempts_total', { connector: 'fabrikam', outcome: 'delivered', verdict: 'verified', tls_version: 'TLSv1.2', policy: 'connector' }), 2);
  t.equal(sampleValue(samples, 'tlsrelay_delivery_attempts_total', { outcome: 'deferred', tls_version: 'none', policy: 'none' }), 1, 'plaintext: tls_version none');
  t.equal(sampleValue(samples, 'tlsrelay_delivery_duration_seconds_count'), 2, 'delivered attempts only');
  t.equal(sampleValue(samples, 'tlsrelay_delivery_duration_seconds_sum'), 30, '30 s, and 0 for a clock that went back');
  t.equal(sampleValue(samples, 'tlsrelay_messages_received_total', { listener: 'mx', connector: 'none', tls: 'false' }), 1, 'no inbound connector: none');
  t.equal(sampleValue(samples, 'tlsrelay_tls_handshake_failures_total', { direction: 'outbound', reason: 'certificate-expired' }), 1);
  t.equal(sampleValue(samples, 'tlsrelay_tls_handshake_failures_total', { reason: 'dnssec-invalid' }), undefined, 'a host never dialled had no TLS to fail');
  t.equal(sampleValue(samples, 'tlsrelay_tls_handshake_failures_total', { direction: 'inbound', reason: 'no shared cipher' }), 1);
  t.match(relay.contentType, /^text\/plain; version=0\.0\.4/);
});

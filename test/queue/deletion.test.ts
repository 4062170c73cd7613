import { Readable } from 'node:stream';
import t from 'tap';
import { deletedRecipients } from '../../src/queue/deletion.js';
import { buildDsn } from '../../src/queue/dsn.js';
import type { AttemptRecord, Envelope } from '../../src/queue/types.js';

const now = new Date('2025-11-28T12:00:00.000Z');

function attempt(domain: string, at: string, response: string): AttemptRecord {
  return { at, domain, connector: 'default', tlsLevel: 'opportunistic', host: `mx.${domain}`, tls: null, verdict: 'none', outcome: 'deferred', code: 451, response };
}

const envelope: Envelope = {
  id: '019ac9a0b5c0aabbccddeeff',
  receivedAt: '2025-11-28T10:00:00.000Z',
  from: 'alice@a.test',
  recipients: [
    { address: 'bob@b.test', domain: 'b.test', state: 'pending', lastError: '451 4.4.1 mx.b.test: connection refused' },
    { address: 'carol@c.test', domain: 'c.test', state: 'pending' },
    { address: 'dave@d.test', domain: 'd.test', state: 'delivered' },
    { address: 'erin@e.test', domain: 'e.test', state: 'bounced', lastError: '550 5.1.1 unknown' },
  ],
  size: 10,
  nextAttemptAt: '2025-11-28T12:30:00.000Z',
  attempts: [attempt('b.test', '2025-11-28T10:01:00.000Z', 'first'), attempt('b.test', '2025-11-28T11:01:00.000Z', '451 4.4.1 mx.b.test: connection refused')],
};

t.test('only the recipients still pending are reported, each with its last error', async (t) => {
  t.same(deletedRecipients(envelope, now), [
    {
      address: 'bob@b.test',
      reason: 'deleted',
      status: '5.0.0',
      diagnostic: 'deleted from the queue by the administrator; the last delivery error was: 451 4.4.1 mx.b.test: connection refused',
      lastAttemptAt: '2025-11-28T11:01:00.000Z',
      attempts: 2,
    },
    {
      address: 'carol@c.test',
      reason: 'deleted',
      status: '5.0.0',
      diagnostic: 'deleted from the queue by the administrator',
      lastAttemptAt: now.toISOString(),
      attempts: 0,
    },
  ]);
});

t.test('the DSN says the administrator deleted it, not that a host refused it', async (t) => {
  const bounce = await buildDsn(envelope, { action: 'failed', recipients: deletedRecipients(envelope, now) }, {
    reportingMta: 'relay.test',
    now,
    original: Readable.from([Buffer.from('Subject: hi\r\n\r\nbody\r\n')]),
  });
  const text = bounce!.data.toString('utf8');
  t.match(text, '<bob@b.test>: deleted from the queue by the administrator; the last delivery error was: 451 4.4.1');
  t.match(text, '<carol@c.test>: deleted from the queue by the administrator\r\n');
  t.match(text, 'Diagnostic-Code: X-tlsrelay; deleted from the queue by the administrator');
  t.match(text, 'Status: 5.0.0');
  t.notMatch(text, /Remote-MTA/, 'no host said this');
  t.notMatch(text, /dave@d\.test|erin@e\.test/, 'delivered and already bounced recipients are not reported');
});

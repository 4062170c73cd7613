import t from 'tap';
import { receivedHeader } from '../../src/inbound/receivedHeader.js';

const date = new Date(Date.UTC(2026, 10, 28, 12, 0, 0));

t.test('names the TLS of the inbound hop like Postfix', async (t) => {
  const header = receivedHeader({
    heloName: 'client.test',
    clientIp: '127.0.0.1',
    byHost: 'relay.test',
    tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', clientVerified: false },
    authenticated: false,
    recipients: ['a@b.test'],
    date,
  });
  t.equal(
    header,
    'Received: from client.test ([127.0.0.1])\r\n\tby relay.test (tlsrelay) with ESMTPS (version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 verified=no)\r\n\tfor <a@b.test>;\r\n\tSat, 28 Nov 2026 12:00:00 +0000\r\n',
  );
});

t.test('plaintext is ESMTP, no for clause for several recipients, nothing can inject a header', async (t) => {
  const header = receivedHeader({
    heloName: 'evil\r\nBcc: x@y.test',
    clientIp: '::1',
    byHost: 'relay.test',
    tls: undefined,
    authenticated: true,
    recipients: ['a@b.test', 'c@d.test'],
    date,
  });
  t.match(header, /with ESMTPA;/);
  t.notMatch(header, /for </);
  t.equal(header.split('\r\n').filter((line) => /^\S/.test(line)).length, 1, 'one header, continuation lines only');
});

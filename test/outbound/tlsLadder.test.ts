import t from 'tap';
import { peerName, peerWithPort } from '../../src/outbound/tlsLadder.js';

t.test('peers are named as Postfix does, IP literals as they are', async (t) => {
  const cases: Array<[name: string, address: string, text: string, host: string]> = [
    ['mx.example.test', '192.0.2.1', 'mx.example.test[192.0.2.1]', 'mx.example.test[192.0.2.1]:25'],
    ['mx.example.test', '2001:db8::1', 'mx.example.test[2001:db8::1]', 'mx.example.test[2001:db8::1]:25'],
    ['192.0.2.1', '192.0.2.1', '192.0.2.1', '192.0.2.1:25'],
    ['2001:db8::1', '2001:db8::1', '2001:db8::1', '[2001:db8::1]:25'],
  ];
  for (const [name, address, text, host] of cases) {
    const target = { hop: { name, addresses: [address], port: 25, preference: 0 }, address };
    t.equal(peerName(target), text);
    t.equal(peerWithPort(target), host);
  }
});

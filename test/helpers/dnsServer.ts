// A loopback UDP DNS server that answers from a table, so routing tests never depend on
// the machine's resolver. Point `config.dns.servers` at `{ host: '127.0.0.1', port }`.
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface MxRecord {
  preference: number;
  /** '.' makes the RFC 7505 null MX. */
  exchange: string;
}

/** Records of one type, or a server failure for just that type. */
type Rrset<T> = T[] | 'SERVFAIL';

/**
 * What the server knows about one name. A name in the table answers NOERROR; a type the
 * entry lacks is NODATA (empty answer). A name not in the table is NXDOMAIN.
 */
export type DnsEntry =
  /** TXT: a record as one string, or as its character-strings (each at most 255 octets). */
  | { MX?: Rrset<MxRecord>; A?: Rrset<string>; AAAA?: Rrset<string>; TXT?: Rrset<string | string[]> }
  | 'NXDOMAIN'
  | 'SERVFAIL';

export type DnsTable = Record<string, DnsEntry>;

export interface DnsQuery {
  name: string;
  type: string;
}

export interface TestDnsServer {
  port: number;
  /** Every question received, in order (lower-cased names). */
  queries: DnsQuery[];
  /** Changes what the server says about `name` from the next question on; undefined removes it (NXDOMAIN). */
  set(name: string, entry: DnsEntry | undefined): void;
  close(): Promise<void>;
}

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

export async function startDnsServer(table: DnsTable): Promise<TestDnsServer> {
  const entries = new Map(Object.entries(table).map(([name, entry]) => [name.toLowerCase(), entry]));
  const queries: DnsQuery[] = [];
  const socket = createSocket('udp4');

  socket.on('message', (message, peer) => {
    let request: dnsPacket.DecodedPacket;
    try {
      request = dnsPacket.decode(message);
    } catch {
      return; // not DNS: a real server would drop it too
    }
    const question = request.questions?.[0];
    if (!question) return;
    const name = question.name.toLowerCase();
    queries.push({ name, type: question.type });
    const { rcode, answers } = answer(entries.get(name), name, question.type);
    const response = dnsPacket.encode({
      type: 'response',
      id: request.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
      questions: [question],
      answers,
    });
    socket.send(response, peer.port, peer.address);
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // a stray send error after the test is done must not crash the run
  socket.on('error', () => {});

  return {
    port: socket.address().port,
    queries,
    set: (name, entry) => (entry === undefined ? entries.delete(name.toLowerCase()) : entries.set(name.toLowerCase(), entry)),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function answer(entry: DnsEntry | undefined, name: string, type: string): { rcode: number; answers: dnsPacket.Answer[] } {
  if (entry === undefined || entry === 'NXDOMAIN') return { rcode: RCODE.NXDOMAIN, answers: [] };
  if (entry === 'SERVFAIL') return { rcode: RCODE.SERVFAIL, answers: [] };
  const base = { name, ttl: 60, class: 'IN' as const };
  switch (type) {
    case 'MX':
      if (entry.MX === 'SERVFAIL') return { rcode: RCODE.SERVFAIL, answers: [] };
      return { rcode: RCODE.NOERROR, answers: (entry.MX ?? []).map((data) => ({ ...base, type: 'MX' as const, data })) };
    case 'A':
    case 'AAAA':
    case 'TXT': {
      const records = entry[type];
      if (records === 'SERVFAIL') return { rcode: RCODE.SERVFAIL, answers: [] };
      return { rcode: RCODE.NOERROR, answers: (records ?? []).map((data) => ({ ...base, type, data }) as dnsPacket.Answer) };
    }
    default:
      return { rcode: RCODE.NOERROR, answers: [] };
  }
}

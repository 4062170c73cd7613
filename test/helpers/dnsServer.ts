// A loopback DNS server (UDP and TCP on the same port) that answers from a table, so
// routing and DANE tests never depend on the machine's resolver. It answers as a
// recursive resolver would: CNAMEs followed, the AD bit as the table says. Point
// `config.dns.servers` at `{ host: '127.0.0.1', port }`.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import type { TlsaRecord } from '../../src/tls/dane.js';

export interface MxRecord {
  preference: number;
  /** '.' makes the RFC 7505 null MX. */
  exchange: string;
}

/** How a question can fail instead of being answered: an rcode, or no reply at all. */
export type DnsFailure = 'SERVFAIL' | 'NXDOMAIN' | 'NO-REPLY';

/** Records of one type, or a failure for just that type. */
type Rrset<T> = T[] | DnsFailure;

export interface DnsRecords {
  MX?: Rrset<MxRecord>;
  A?: Rrset<string>;
  AAAA?: Rrset<string>;
  /** A record as one string, or as its character-strings (each at most 255 octets). */
  TXT?: Rrset<string | string[]>;
  TLSA?: Rrset<TlsaRecord>;
  /** An alias: every question about this name gets the CNAME, then the target's answer. */
  CNAME?: string;
  /** Answers about this name carry the AD bit (through CNAMEs: when every name on the way has it). */
  ad?: boolean;
  /** Of its records; 60 when left out. */
  ttl?: number;
  /** Denials (nodata, and NXDOMAIN of one type) carry a SOA with this TTL and MINIMUM. */
  negativeTtl?: number;
  /** UDP answers about this name are truncated (TC set, no records): the full answer needs TCP. */
  truncate?: boolean;
  /** Before the real UDP answer, a forged one (A 192.0.2.66) with another ID, or for another question. */
  forgeFirst?: 'id' | 'question';
  /** UDP answers about this name end inside their question: no reader can decode them. */
  malformed?: boolean;
}

/**
 * What the server knows about one name. A name in the table answers NOERROR; a type the
 * entry lacks is NODATA (empty answer). A name not in the table is NXDOMAIN.
 */
export type DnsEntry = DnsRecords | DnsFailure;

export type DnsTable = Record<string, DnsEntry>;

export interface DnsQuery {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
  /** The query asked for DNSSEC (EDNS0 DO bit). */
  dnssecOk: boolean;
}

export interface TestDnsServer {
  port: number;
  /** Every question received, in order (lower-cased names). */
  queries: DnsQuery[];
  close(): Promise<void>;
}

/** The address a forged answer carries; a client that takes it was fooled. */
export const FORGED_ADDRESS = '192.0.2.66';

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

const MAX_CHAIN = 16;

interface Resolution {
  rcode: number;
  answers: dnsPacket.Answer[];
  authorities: dnsPacket.Answer[];
  ad: boolean;
}

function records(entry: DnsRecords, name: string, type: string): dnsPacket.Answer[] | DnsFailure {
  const base = { name, ttl: entry.ttl ?? 60, class: 'IN' as const };
  switch (type) {
    case 'MX':
    case 'A':
    case 'AAAA':
    case 'TXT':
    case 'TLSA': {
      const rrset = entry[type];
      if (typeof rrset === 'string') return rrset;
      return (rrset ?? []).map((data) => {
        if (type === 'TLSA') {
          const tlsa = data as TlsaRecord;
          return { ...base, type, data: { usage: tlsa.usage, selector: tlsa.selector, matchingType: tlsa.matchingType, certificate: tlsa.data } };
        }
        return { ...base, type, data } as dnsPacket.Answer;
      });
    }
    default:
      return [];
  }
}

function soa(name: string, negativeTtl: number | undefined): dnsPacket.Answer[] {
  if (negativeTtl === undefined) return [];
  return [{ name, type: 'SOA', ttl: negativeTtl, class: 'IN', data: { mname: 'ns.test', rname: 'hostmaster.test', serial: 1, minimum: negativeTtl } }];
}

/** Follows CNAMEs through the table, as a recursive resolver does; undefined: no reply. */
function resolve(entries: Map<string, DnsEntry>, question: dnsPacket.Question): Resolution | undefined {
  const answers: dnsPacket.Answer[] = [];
  let name = question.name.toLowerCase();
  let ad = true;
  for (let hop = 0; hop < MAX_CHAIN; hop++) {
    const entry = entries.get(name);
    if (entry === 'NO-REPLY') return undefined;
    if (entry === 'SERVFAIL') return { rcode: RCODE.SERVFAIL, answers: [], authorities: [], ad: false };
    if (entry === undefined || entry === 'NXDOMAIN') return { rcode: RCODE.NXDOMAIN, answers, authorities: [], ad: false };
    ad &&= entry.ad === true;
    if (entry.CNAME !== undefined && question.type !== 'CNAME') {
      answers.push({ name, type: 'CNAME', ttl: entry.ttl ?? 60, class: 'IN', data: entry.CNAME });
      name = entry.CNAME.toLowerCase();
      continue;
    }
    const found = records(entry, name, question.type);
    if (found === 'NO-REPLY') return undefined;
    if (found === 'SERVFAIL') return { rcode: RCODE.SERVFAIL, answers: [], authorities: [], ad: false };
    if (found === 'NXDOMAIN') return { rcode: RCODE.NXDOMAIN, answers, authorities: soa(name, entry.negativeTtl), ad };
    return { rcode: RCODE.NOERROR, answers: [...answers, ...found], authorities: found.length === 0 ? soa(name, entry.negativeTtl) : [], ad };
  }
  return { rcode: RCODE.SERVFAIL, answers: [], authorities: [], ad: false };
}

function encodeResponse(request: dnsPacket.DecodedPacket, resolution: Resolution, truncated: boolean): Buffer {
  const edns = (request.additionals ?? []).some((record) => record.type === 'OPT');
  const flags =
    dnsPacket.RECURSION_DESIRED |
    dnsPacket.RECURSION_AVAILABLE |
    (resolution.ad ? dnsPacket.AUTHENTIC_DATA : 0) |
    (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) |
    resolution.rcode;
  return dnsPacket.encode({
    type: 'response',
    id: request.id ?? 0,
    flags,
    questions: request.questions ?? [],
    answers: truncated ? [] : resolution.answers,
    authorities: truncated ? [] : resolution.authorities,
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  });
}

function forgery(request: dnsPacket.DecodedPacket, question: dnsPacket.Question, how: 'id' | 'question'): Buffer {
  const name = how === 'question' ? `forged.${question.name}` : question.name;
  return dnsPacket.encode({
    type: 'response',
    id: how === 'id' ? ((request.id ?? 0) + 1) % 0x10000 : (request.id ?? 0),
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHENTIC_DATA,
    questions: [{ ...question, name }],
    answers: [{ name, type: 'A', ttl: 60, class: 'IN', data: FORGED_ADDRESS }],
  });
}

/** Decodes a query and records it; undefined for anything that is not one. */
function readQuery(message: Buffer, transport: DnsQuery['transport'], queries: DnsQuery[]): { request: dnsPacket.DecodedPacket; question: dnsPacket.Question } | undefined {
  let request: dnsPacket.DecodedPacket;
  try {
    request = dnsPacket.decode(message);
  } catch {
    return undefined; // not DNS: a real server would drop it too
  }
  const question = request.questions?.[0];
  if (!question) return undefined;
  const opt = (request.additionals ?? []).find((record): record is dnsPacket.OptAnswer => record.type === 'OPT');
  queries.push({ name: question.name.toLowerCase(), type: question.type, transport, dnssecOk: opt?.flag_do === true });
  return { request, question };
}

function serveTcp(connection: Socket, entries: Map<string, DnsEntry>, queries: DnsQuery[]): void {
  let buffered = Buffer.alloc(0);
  connection.on('error', () => {});
  connection.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
      buffered = buffered.subarray(2 + message.length);
      const query = readQuery(message, 'tcp', queries);
      const resolution = query && resolve(entries, query.question);
      if (!query || !resolution) continue;
      const response = encodeResponse(query.request, resolution, false);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(response.length);
      connection.write(Buffer.concat([length, response]));
    }
  });
}

async function bindBoth(): Promise<{ udp: UdpSocket; tcp: Server }> {
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const tcp = createServer();
    const listening = await new Promise<boolean>((resolve, reject) => {
      tcp.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' && attempt < 20 ? resolve(false) : reject(err)));
      tcp.listen(udp.address().port, '127.0.0.1', () => resolve(true));
    });
    if (listening) return { udp, tcp };
    // the UDP port is taken for TCP: try another
    udp.close();
  }
}

export async function startDnsServer(table: DnsTable): Promise<TestDnsServer> {
  const entries = new Map(Object.entries(table).map(([name, entry]) => [name.toLowerCase(), entry]));
  const queries: DnsQuery[] = [];
  const { udp, tcp } = await bindBoth();
  const connections = new Set<Socket>();

  udp.on('message', (message, peer) => {
    const query = readQuery(message, 'udp', queries);
    const resolution = query && resolve(entries, query.question);
    if (!query || !resolution) return;
    const entry = entries.get(query.question.name.toLowerCase());
    const records = typeof entry === 'object' ? entry : {};
    if (records.forgeFirst) udp.send(forgery(query.request, query.question, records.forgeFirst), peer.port, peer.address);
    const response = encodeResponse(query.request, resolution, records.truncate === true);
    // the 12-byte header and two bytes of the question it announces
    udp.send(records.malformed ? response.subarray(0, 14) : response, peer.port, peer.address);
  });
  // a stray send error after the test is done must not crash the run
  udp.on('error', () => {});
  tcp.on('connection', (connection) => {
    connections.add(connection);
    connection.on('close', () => connections.delete(connection));
    serveTcp(connection, entries, queries);
  });

  return {
    port: udp.address().port,
    queries,
    close: async () => {
      for (const connection of connections) connection.destroy();
      await Promise.all([new Promise<void>((resolve) => udp.close(() => resolve())), new Promise<void>((resolve) => tcp.close(() => resolve()))]);
    },
  };
}

import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP, connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { formatHostPort } from '../../config/host-port.js';
import type { HostPort } from '../../config/types.js';
import type { RecordType } from './lookup.js';

// One question to one server: over UDP, and again over TCP when the UDP answer was
// truncated (RFC 7766). Only a reply to our question counts: same ID, a response,
// the same question. On UDP anything else is ignored (a forgery or a late reply to an
// earlier query), and the wait goes on.

/** A decoded reply; dns-packet also gives the rcode, which its types leave out. */
export type DnsReply = dnsPacket.DecodedPacket & { rcode: string };

export type ServerReply =
  | { kind: 'reply'; reply: DnsReply }
  /** It answered, but not in a way we can read: asking it again would not help. */
  | { kind: 'bad-reply'; error: string }
  /** Timeout, refused, connection lost: it may answer another time. */
  | { kind: 'no-reply'; error: string };

export interface Question {
  /** Lower case, no trailing dot. */
  name: string;
  type: RecordType;
  /** Ask for DNSSEC records and the AD bit (EDNS0 DO). */
  dnssec: boolean;
}

/** The UDP payload we accept: the DNS flag day 2020 value, which avoids IP fragmentation. */
const UDP_PAYLOAD_SIZE = 1232;

function encodeQuery(id: number, question: Question): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name: question.name, type: question.type, class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: UDP_PAYLOAD_SIZE,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: question.dnssec ? dnsPacket.DNSSEC_OK : 0,
        flag_do: question.dnssec,
        options: [],
      },
    ],
  });
}

function answersQuestion(reply: DnsReply, question: Question): boolean {
  const asked = reply.questions ?? [];
  const [first] = asked;
  return (
    reply.type === 'response' &&
    asked.length === 1 &&
    first !== undefined &&
    first.name.toLowerCase() === question.name &&
    first.type === question.type &&
    (first.class ?? 'IN') === 'IN'
  );
}

/** A reply to `id`, or why the bytes are none; undefined when they are not meant for us. */
function readReply(bytes: Buffer, id: number, question: Question): ServerReply | undefined {
  if (bytes.length < 12 || bytes.readUInt16BE(0) !== id) return undefined;
  let reply: DnsReply;
  try {
    reply = dnsPacket.decode(bytes) as DnsReply;
  } catch (err) {
    return { kind: 'bad-reply', error: `malformed reply: ${(err as Error).message}` };
  }
  return answersQuestion(reply, question) ? { kind: 'reply', reply } : undefined;
}

const seconds = (ms: number): string => `${ms / 1000} s`;

/** One exchange on a socket: the first result wins and `close` is called; `timeout` ms of silence end it as `silence`. */
function exchange(close: () => void, timeout: number, silence: string, talk: (finish: (result: ServerReply) => void) => void): Promise<ServerReply> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: ServerReply): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      close();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ kind: 'no-reply', error: silence }), timeout);
    talk(finish);
  });
}

function overUdp(server: HostPort, id: number, question: Question, timeout: number): Promise<ServerReply> {
  const where = formatHostPort(server);
  const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
  return exchange(() => socket.close(), timeout, `no reply from ${where} within ${seconds(timeout)}`, (finish) => {
    // connected: the kernel passes on only datagrams from the server's address and port
    socket.on('message', (bytes) => {
      const result = readReply(bytes, id, question);
      if (result !== undefined) finish(result);
    });
    const failed = (err: NodeJS.ErrnoException): void => finish({ kind: 'no-reply', error: `${where}: ${err.code ?? err.message}` });
    socket.on('error', failed);
    socket.connect(server.port, server.host, (err?: Error) => (err ? failed(err) : socket.send(encodeQuery(id, question))));
  });
}

function overTcp(server: HostPort, id: number, question: Question, timeout: number): Promise<ServerReply> {
  const where = formatHostPort(server);
  const socket = connect({ host: server.host, port: server.port });
  return exchange(() => socket.destroy(), timeout, `no reply from ${where} over TCP within ${seconds(timeout)}`, (finish) => {
    let received = Buffer.alloc(0);
    socket.on('connect', () => {
      const query = encodeQuery(id, question);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) return;
      const bytes = received.subarray(2, 2 + received.readUInt16BE(0));
      // one connection, one question: anything but its reply is a broken server
      finish(readReply(bytes, id, question) ?? { kind: 'bad-reply', error: 'a reply to another question over TCP' });
    });
    socket.on('end', () => finish({ kind: 'no-reply', error: `${where} closed the TCP connection without a reply` }));
    socket.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'no-reply', error: `${where} over TCP: ${err.code ?? err.message}` }));
  });
}

/** Asks `server` once (UDP, then TCP if truncated); `timeout` applies to each transport. */
export async function askServer(server: HostPort, question: Question, timeout: number): Promise<ServerReply> {
  const id = randomInt(0x10000);
  const udp = await overUdp(server, id, question, timeout);
  if (udp.kind !== 'reply' || !udp.reply.flag_tc) return udp;
  return overTcp(server, id, question, timeout);
}

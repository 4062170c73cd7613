import type dnsPacket from 'dns-packet';
import { formatHostPort } from '../../config/host-port.js';
import type { HostPort } from '../../config/types.js';
import type { Lookup, RecordType } from './lookup.js';
import { askServer, type DnsReply, type Question } from './transport.js';

// A stub resolver: it asks recursive resolvers (dns.servers, else the system's) and
// reads their answers, as Postfix's resolver library does. The AD bit is believed only
// when the operator says the servers validate (dns.dnssec, Postfix's
// smtp_dns_support_level = dnssec): anyone on the path can set it.

export interface DnsClientOptions {
  servers: readonly HostPort[];
  /** Ask with the DO bit and trust the AD bit of the answers. */
  dnssec: boolean;
  /** Per question to one server and transport, in ms. */
  timeout: number;
  /** How often a server that does not reply is asked, in turn with the others. */
  tries: number;
}

/** Asks one question; never throws. Records are those of `type` at the name the CNAMEs lead to. */
export type DnsQuery = (name: string, type: RecordType) => Promise<Lookup<dnsPacket.Answer>>;

/** Longer CNAME chains than this are taken for a loop (Postfix and BIND stop around here). */
const MAX_CNAMES = 8;

/** RFC 2308's negative TTL when an answer carries no SOA to take it from. */
const NEGATIVE_TTL_WITHOUT_SOA = 60;

const sameName = (a: string, b: string): boolean => a.toLowerCase().replace(/\.$/, '') === b;

/** Labels of 1 to 63 octets, 253 in all (RFC 1035 2.3.4); underscores are fine (_25._tcp). */
function isQueryName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) <= 253 && name.split('.').every((label) => label.length > 0 && Buffer.byteLength(label) <= 63);
}

/** RFC 2308 section 5: the smaller of the SOA's own TTL and its MINIMUM field. */
function negativeTtl(reply: DnsReply): number {
  const soa = (reply.authorities ?? []).find((record): record is dnsPacket.SoaAnswer => record.type === 'SOA');
  if (soa === undefined) return NEGATIVE_TTL_WITHOUT_SOA;
  return Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0);
}

type Answered = Lookup<dnsPacket.Answer>;

/** What a NOERROR or NXDOMAIN reply says about `question`; other rcodes are temporary. */
function interpret(reply: DnsReply, question: Question): Answered {
  if (reply.rcode !== 'NOERROR' && reply.rcode !== 'NXDOMAIN') return { kind: 'temporary', error: reply.rcode };
  const secure = question.dnssec && reply.flag_ad;
  const answers = reply.answers ?? [];
  let owner = question.name;
  let ttl = Number.POSITIVE_INFINITY;
  for (let followed = 0; ; followed++) {
    const alias = answers.find((record): record is dnsPacket.StringAnswer => record.type === 'CNAME' && sameName(record.name, owner));
    if (alias === undefined) break;
    if (followed === MAX_CNAMES) return { kind: 'temporary', error: `more than ${MAX_CNAMES} CNAMEs from ${question.name}` };
    owner = alias.data.toLowerCase().replace(/\.$/, '');
    ttl = Math.min(ttl, alias.ttl ?? 0);
  }
  const records = answers.filter((record) => record.type === question.type && sameName(record.name, owner));
  if (records.length > 0) {
    return { kind: 'found', records, name: owner, secure, ttl: Math.min(ttl, ...records.map((record) => ('ttl' in record ? (record.ttl ?? 0) : 0))) };
  }
  // an NXDOMAIN after CNAMEs is about the last name of the chain (RFC 6604)
  return { kind: reply.rcode === 'NXDOMAIN' ? 'nxdomain' : 'nodata', secure, ttl: Math.min(ttl, negativeTtl(reply)) };
}

/**
 * Each server in turn, `tries` rounds. A server that replied with an error (SERVFAIL,
 * REFUSED, a malformed answer) is not asked again for this question; one that did not
 * reply is, in the next round. The last error is the one reported.
 */
export function createDnsQuery(options: DnsClientOptions): DnsQuery {
  return async (name, type) => {
    const question: Question = { name: name.toLowerCase().replace(/\.$/, ''), type, dnssec: options.dnssec };
    if (!isQueryName(question.name)) return { kind: 'temporary', error: `not a DNS name: "${name}"` };
    let lastError = 'no DNS server to ask';
    const gaveAnError = new Set<HostPort>();
    for (let round = 0; round < options.tries; round++) {
      for (const server of options.servers) {
        if (gaveAnError.has(server)) continue;
        const result = await askServer(server, question, options.timeout);
        if (result.kind === 'no-reply') {
          lastError = result.error;
          continue;
        }
        const answered = result.kind === 'reply' ? interpret(result.reply, question) : { kind: 'temporary' as const, error: result.error };
        if (answered.kind !== 'temporary') return answered;
        lastError = `${formatHostPort(server)} answered ${answered.error}`;
        gaveAnError.add(server);
      }
    }
    return { kind: 'temporary', error: lastError };
  };
}

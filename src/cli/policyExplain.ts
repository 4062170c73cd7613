import { isIP } from 'node:net';
import { domainOfAddress } from '../config/domain.js';
import { parseDomainPattern, parseHostName } from '../config/domain-name.js';
import { explainInbound, type InboundQuery } from '../policy/explainInbound.js';
import type { Config } from '../config/types.js';
import { explainOutbound } from '../policy/explainOutbound.js';
import { selectOutboundConnector } from '../policy/outboundConnector.js';
import { unmapIpv4 } from '../policy/ipRanges.js';
import { parseCommandArgs, UsageError, type CommandIo } from './args.js';
import { inboundText, outboundText } from './explainText.js';
import type { OutboundWithLookup } from './policyLookup.js';
import { EXIT_INVALID_CONFIG, loadConfigOrReport } from './loadConfigFile.js';

export const EXPLAIN_OPTIONS = {
  json: { type: 'boolean' },
  inbound: { type: 'string' },
  sender: { type: 'string' },
  'cert-name': { type: 'string' },
  lookup: { type: 'boolean' },
} as const;

type Query = { direction: 'outbound'; domain: string; asGiven: string; lookup: boolean } | ({ direction: 'inbound' } & InboundQuery);

function parseDomain(text: string): string {
  const domain = parseHostName(text);
  if (domain === undefined) throw new UsageError(`"${text}" is not a domain name`);
  return domain;
}

function parseIp(text: string): string {
  if (isIP(text) === 0) throw new UsageError(`--inbound "${text}" is not an IP address`);
  return unmapIpv4(text);
}

/** `<>` (or nothing) is the null sender; anything else needs a domain after its last '@'. */
function parseSender(text: string | undefined): InboundQuery['sender'] {
  if (text === undefined || text === '<>' || text === '') return null;
  const address = text.replace(/^<(.*)>$/, '$1');
  const domain = domainOfAddress(address);
  if (domain === undefined || parseHostName(domain) === undefined) {
    throw new UsageError(`--sender "${text}" is not an address with a domain (local@domain, or <> for the null sender)`);
  }
  return { address, domain };
}

/** A certificate may carry a wildcard name (`*.contoso.test`), but not a bare `*`. */
function parseCertificateName(text: string | undefined): string | null {
  if (text === undefined) return null;
  const name = parseDomainPattern(text);
  if (name === undefined || name === '*') throw new UsageError(`--cert-name "${text}" is not a host name`);
  return name;
}

/** `explain DOMAIN [--lookup]` or `explain --inbound IP [--sender ADDR] [--cert-name NAME]`, never both. */
function parseQuery(positionals: string[], values: { inbound?: string; sender?: string; 'cert-name'?: string; lookup?: boolean }): Query {
  const [subcommand, domain, ...extra] = positionals;
  if (subcommand !== 'explain') {
    throw new UsageError(subcommand === undefined ? 'missing subcommand: explain or what-if' : `unknown subcommand "${subcommand}"`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (values.inbound === undefined) {
    if (values.sender !== undefined || values['cert-name'] !== undefined) throw new UsageError('--sender and --cert-name need --inbound IP');
    if (domain === undefined) throw new UsageError('explain needs a DOMAIN or --inbound IP');
    return { direction: 'outbound', domain: parseDomain(domain), asGiven: domain, lookup: values.lookup === true };
  }
  if (domain !== undefined) throw new UsageError(`explain takes a DOMAIN or --inbound IP, not both ("${domain}")`);
  if (values.lookup) throw new UsageError('--lookup is for a DOMAIN: an inbound session has nothing published to look up');
  return {
    direction: 'inbound',
    ip: parseIp(values.inbound),
    sender: parseSender(values.sender),
    certificateName: parseCertificateName(values['cert-name']),
  };
}

/** The outbound explanation, and with `--lookup` what the lookups found; undefined when the trust anchors do not load. */
async function outboundExplanation(config: Config, query: Extract<Query, { direction: 'outbound' }>, configFile: string, stderr: NodeJS.WritableStream): Promise<OutboundWithLookup | undefined> {
  const explanation = explainOutbound(config, query.domain, query.asGiven);
  if (!query.lookup) return explanation;
  // loaded only here: explain without lookups loads no DNS, HTTPS or certificate code
  const [{ tryLoadTrust }, { lookUpPublished }] = await Promise.all([import('./loadOrExplain.js'), import('./policyLookup.js')]);
  const trust = tryLoadTrust(configFile, config);
  if (!trust.ok) {
    stderr.write(`${trust.problem}\n`);
    return undefined;
  }
  const { connector } = selectOutboundConnector(config, query.domain);
  return { ...explanation, lookup: await lookUpPublished(config, connector, query.domain, trust.trust, stderr) };
}

/**
 * `tlsrelay policy explain`: what the policy does for a recipient domain or an inbound
 * session, for a person or (`--json`) for a script; with `--lookup`, what the recipient
 * domain publishes and what delivery makes of it per MX host. Arguments are checked before
 * the config is read, so a typo is a usage error (64) whatever state the config is in.
 */
export async function explainCommand(args: string[], io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  const { positionals, values, configOption } = parseCommandArgs(args, EXPLAIN_OPTIONS);
  const query = parseQuery(positionals, values);
  const loaded = await loadConfigOrReport(configOption, io.stderr);
  if (!loaded) return EXIT_INVALID_CONFIG;
  const { file, config } = loaded;
  const explanation = query.direction === 'outbound' ? await outboundExplanation(config, query, file, io.stderr) : explainInbound(config, query);
  if (!explanation) return EXIT_INVALID_CONFIG;
  if (values.json) io.stdout.write(`${JSON.stringify(explanation, null, 2)}\n`);
  else io.stdout.write(explanation.direction === 'outbound' ? outboundText(explanation) : inboundText(explanation));
  return 0;
}

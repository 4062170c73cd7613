import { isIP } from 'node:net';
import { implicitOutboundConnector } from '../config/defaults.js';
import type { Config, OutboundConnector, TlsLevel } from '../config/types.js';
import { probe, type ProbeDestination } from '../outbound/probe.js';
import { selectOutboundConnector } from '../policy/outboundConnector.js';
import type { TlsMaterial } from '../tls/material.js';
import { trustAnchorsOf } from '../tls/trustAnchors.js';
import { parseCommandArgs, UsageError, type CommandIo } from './args.js';
import { parseNameArgument } from './nameArgument.js';
import { EXIT_INVALID_CONFIG, loadConfigOrReport } from './loadConfigFile.js';
import { certificatesToBeGenerated, tryLoadTls, tryLoadTrust } from './loadOrExplain.js';
import { parseDestination, type DestinationArgument } from './probeDestination.js';
import { probeReport, type ProbeSubject } from './probeReport.js';
import { probeText } from './probeText.js';
import { readOnlyMtaSts } from './readOnlyMtaSts.js';

const OPTIONS = {
  json: { type: 'boolean' },
  name: { type: 'string', multiple: true },
  connector: { type: 'string' },
  starttls: { type: 'boolean' },
  implicit: { type: 'boolean' },
} as const;

/** Exit statuses: the level judged would deliver, would defer; 2 (EXIT_INVALID_CONFIG) for every error. */
const EXIT_WOULD_DELIVER = 0;
const EXIT_WOULD_DEFER = 1;

/** Submissions (RFC 8314): where TLS from the first byte is spoken. */
const IMPLICIT_TLS_PORT = 465;

interface ProbeArguments {
  given: string;
  destination: DestinationArgument;
  names: string[];
  connector: string | undefined;
  implicitTls: boolean;
  json: boolean;
}

function parseProbeArguments(args: string[]): { parsed: ProbeArguments; configOption: string | undefined } {
  const { positionals, values, configOption } = parseCommandArgs(args, OPTIONS);
  const [subcommand, given, ...extra] = positionals;
  if (subcommand !== 'probe') throw new UsageError(subcommand === undefined ? 'missing subcommand: probe' : `unknown subcommand "${subcommand}"`);
  if (given === undefined) throw new UsageError('probe needs a HOST: a mail domain, [host] or an IP address, with :PORT if need be');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (values.starttls && values.implicit) throw new UsageError('--starttls and --implicit exclude each other');
  const destination = parseDestination(given);
  if (destination === undefined) throw new UsageError(`"${given}" is not a mail domain, [host] or IP address with an optional :PORT`);
  const names = (values.name ?? []).map((name) => parseNameArgument(name));
  return { parsed: { given, destination, names, connector: values.connector, implicitTls: values.implicit === true, json: values.json === true }, configOption };
}

/** The connector whose settings the probe uses, and why: --connector, else the one mail to the domain gets, else the implicit default. */
function chooseConnector(config: Config, parsed: ProbeArguments): { connector: OutboundConnector; why: string } | { problem: string } {
  if (parsed.connector !== undefined) {
    const named = config.outbound.find((connector) => connector.name === parsed.connector);
    if (named) return { connector: named, why: 'named by --connector' };
    const known = config.outbound.map((connector) => connector.name);
    return { problem: `no outbound connector is named "${parsed.connector}" in ${config.file} (${known.length > 0 ? `there are ${known.join(', ')}` : 'it has none'})` };
  }
  if (parsed.destination.kind === 'domain') {
    const { connector, reason } = selectOutboundConnector(config, parsed.destination.domain);
    return { connector, why: reason };
  }
  return { connector: implicitOutboundConnector(config.queue.maxAge), why: 'no --connector: the default settings (no client certificate, TLSv1.2 and up, Node\'s ciphers)' };
}

/** Our certificates (for the connector's clientCertificate) and what peers are judged by; a pair start has yet to make is none. */
function loadMaterial(file: string, config: Config): { material: TlsMaterial } | { problem: string } {
  if (certificatesToBeGenerated(config)) {
    const trust = tryLoadTrust(file, config);
    return trust.ok ? { material: { certificates: [], ...trust.trust } } : { problem: trust.problem };
  }
  const loaded = tryLoadTls(file, config);
  return loaded.ok ? { material: loaded.material } : { problem: loaded.problem };
}

/** Why the probe cannot be made, on stderr. */
function problem(io: Pick<CommandIo, 'stderr'>, text: string): number {
  io.stderr.write(`${text}\n`);
  return EXIT_INVALID_CONFIG;
}

function destinationOf(parsed: ProbeArguments, config: Config): ProbeDestination {
  const { destination } = parsed;
  const port = destination.port ?? (parsed.implicitTls ? IMPLICIT_TLS_PORT : config.delivery.port);
  return destination.kind === 'domain' ? { kind: 'domain', domain: destination.domain, port } : { kind: 'host', host: destination.host, port };
}

/**
 * `tlsrelay tls probe`: one connection to a next hop as the relay makes it, QUIT before
 * MAIL, and what every outbound level would make of it. Exit 0 when the level judged (the
 * connector's, else verify) would deliver, 1 when it would defer, 2 when the probe could
 * not be made (config, certificates, DNS, an unreachable host); 64 for a usage error.
 */
export async function tlsCommand(args: string[], io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  const { parsed, configOption } = parseProbeArguments(args);
  const loaded = await loadConfigOrReport(configOption, io.stderr);
  if (!loaded) return EXIT_INVALID_CONFIG;
  const { file, config } = loaded;
  const chosen = chooseConnector(config, parsed);
  if ('problem' in chosen) return problem(io, chosen.problem);
  const tls = loadMaterial(file, config);
  if ('problem' in tls) return problem(io, tls.problem);
  const destination = destinationOf(parsed, config);
  const { source: mtaSts } = readOnlyMtaSts(config, tls.material, io.stderr);
  const outcome = await probe({ connector: chosen.connector, destination, names: parsed.names, implicitTls: parsed.implicitTls }, { config, tls: tls.material, mtaSts });
  if (outcome.kind === 'failed') {
    const said = outcome.replies.map(({ text }) => text.replace(/\n/g, ' ')).join(' / ');
    io.stderr.write(`tlsrelay tls probe: ${outcome.reply}${said === '' ? '' : ` (the server said: ${said})`}\n`);
    return EXIT_INVALID_CONFIG;
  }
  const judgedLevel: TlsLevel = parsed.connector === undefined ? 'verify' : chosen.connector.tls;
  const subject: ProbeSubject = {
    destination: { given: parsed.given, kind: destination.kind === 'host' && isIP(destination.host) !== 0 ? 'address' : destination.kind, port: destination.port },
    why: chosen.why,
    judged: { level: judgedLevel, by: parsed.connector === undefined ? 'default' : 'connector' },
  };
  const report = probeReport(config, subject, outcome, parsed.implicitTls, trustAnchorsOf(config), new Date());
  io.stdout.write(parsed.json ? `${JSON.stringify(report, null, 2)}\n` : probeText(report));
  return report.result.delivers ? EXIT_WOULD_DELIVER : EXIT_WOULD_DEFER;
}

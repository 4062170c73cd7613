import type { AppliedPolicy } from '../policy/appliedPolicy.js';
import type { ExplainedHost, ExplainedMtaSts } from '../policy/explainPublished.js';
import type { TlsaFinding } from '../policy/publishedPolicy.js';
import type { TlsRule } from '../policy/tlsDecision.js';
import type { Lookup, MxRecord } from '../outbound/resolver.js';
import { abbreviateTlsa } from '../tls/dane.js';
import { listOrNone, outcomeRows, rows, type Row } from './explainRows.js';
import type { LookupExplanation } from './policyLookup.js';

// The human form of `policy explain DOMAIN --lookup`: what the domain publishes, then per
// next hop in the order delivery tries them, the records, the deciding source, the plan and
// what each failure would cause. TLSA data is shortened to its first bytes, as in the log.

const validated = (secure: boolean): string => (secure ? 'DNSSEC-validated' : 'not DNSSEC-validated');

function mxText(mx: Lookup<MxRecord>): string {
  switch (mx.kind) {
    case 'found':
      return `${mx.records.map((record) => `${record.priority} ${record.exchange || '.'}`).join(', ')} (${validated(mx.secure)})`;
    case 'nodata':
      return `none: the domain is its own mail host (RFC 5321 §5.1) (${validated(mx.secure)})`;
    case 'nxdomain':
      return 'the domain does not exist (NXDOMAIN)';
    case 'temporary':
      return `lookup failed: ${mx.error}`;
  }
}

function daneText(dane: LookupExplanation['dane']): string {
  if (!dane.consulted) return `not consulted: ${dane.why}`;
  return dane.unavailable === null ? 'consulted: the TLSA records of each host are below' : `consulted, but no host can have it: ${dane.unavailable}`;
}

export function mtaStsRows(mtaSts: LookupExplanation['mtaSts']): Row[] {
  const policy = (state: Extract<ExplainedMtaSts, { state: 'policy' }>): Row[] => [
    [
      'MTA-STS',
      state.origin === 'cache'
        ? `policy read from the relay's cache (${mtaSts.cacheDir})`
        : `policy fetched now over HTTPS, and not stored: the cache (${mtaSts.cacheDir}) belongs to the running relay`,
    ],
    ['mode', state.mode],
    ['id', state.id],
    ['max_age', `${state.maxAge} s`],
    ['fetched', state.fetchedAt],
    ['cached until', state.origin === 'cache' ? state.cachedUntil : `${state.cachedUntil} (a relay fetching it now keeps it until then)`],
    ['mx patterns', listOrNone(state.mx)],
    ...(state.refreshFailure
      ? [['refresh failed', `${state.refreshFailure.reason} (${state.refreshFailure.resultType}): the cached policy stays in force until it expires`] as Row]
      : []),
    ['policy text', state.text.split(/\r?\n/).filter((line) => line.trim() !== '')],
  ];
  if (!mtaSts.consulted) return [['MTA-STS', `not consulted: ${mtaSts.why}`]];
  switch (mtaSts.state) {
    case 'none':
      return [['MTA-STS', `no policy: ${mtaSts.reason}`]];
    case 'unavailable':
      return [['MTA-STS', `a v=STSv1 record, but no policy to be had (${mtaSts.failure.resultType}: ${mtaSts.failure.reason}) and none cached: mail goes as without a policy`]];
    case 'policy':
      return policy(mtaSts);
  }
}

export function tlsaLines(tlsa: ExplainedHost['tlsa']): string[] {
  if (tlsa === null) return ['not consulted'];
  const at = (finding: TlsaFinding): string => (tlsa.owner === null ? '' : `${tlsa.owner}: `) + findingText(finding);
  const listed = (records: string[], usable: boolean): string[] => records.map((record) => `${abbreviateTlsa(record)}  ${usable ? 'usable' : 'unusable (not DANE-TA or DANE-EE with a known selector and matching type)'}`);
  const { finding } = tlsa;
  switch (finding.kind) {
    case 'usable':
      return [at(finding), ...listed(finding.usable, true), ...listed(finding.unusable, false)];
    case 'unusable':
      return [at(finding), ...listed(finding.unusable, false)];
    default:
      return [at(finding)];
  }
}

function findingText(finding: TlsaFinding): string {
  switch (finding.kind) {
    case 'usable':
      return `DNSSEC-validated, ${finding.usable.length} usable`;
    case 'unusable':
      return 'DNSSEC-validated, none usable: TLS without authentication';
    case 'none':
      return 'none (a validated denial)';
    case 'insecure':
      return `no DANE: ${finding.reason}`;
    case 'failed':
      return `lookup failed (${finding.error}): the host is deferred before dialling`;
  }
}

function policyText(policy: AppliedPolicy): string {
  switch (policy.source) {
    case 'none':
      return 'nothing published applies';
    case 'connector':
      return "the connector's level";
    case 'dane':
      return `DANE, ${policy.tlsa.length} TLSA record(s)`;
    case 'mta-sts':
      return `MTA-STS ${policy.mode} (id ${policy.id})`;
  }
}

function ruleText(rule: TlsRule): string {
  const testing = rule.testing ? `; ${policyText(rule.testing.policy)} would demand ${rule.testing.tls}` : '';
  return `${rule.tls} (${policyText(rule.policy)})${testing}`;
}

function planText(host: ExplainedHost): string {
  switch (host.plan) {
    case 'connect':
      return `connect: ${host.explanation}`;
    case 'skip':
      return `not used: ${host.explanation}`;
    case 'defer':
      return `deferred before dialling: ${host.deferral}`;
    case 'not-tried':
      return host.explanation;
  }
}

function hostText(host: ExplainedHost, byMx: boolean): string[] {
  const heading = `${byMx ? 'MX host' : 'smart host'} ${host.host}:${host.port}${byMx ? ` (preference ${host.preference})` : ''}`;
  const facts: Row[] = [
    ['addresses', listOrNone(host.addresses)],
    ['TLSA', tlsaLines(host.tlsa)],
    ...(host.mtaStsMx ? [['MTA-STS mx', host.mtaStsMx.matched === null ? "matches none of the policy's mx patterns" : `matches ${host.mtaStsMx.matched}`] as Row] : []),
    ...(host.decidedBy === null ? [] : [['decided by', host.decidedBy] as Row]),
    ['plan', planText(host)],
    ...(host.plan === 'defer' ? [['why', host.explanation] as Row] : []),
    ...(host.rule ? [['rule', ruleText(host.rule)] as Row] : []),
  ];
  const outcomes = host.outcomes.length > 0 ? [`    when the host`, ...rows(outcomeRows(host.outcomes), '      ')] : [];
  return [`  ${heading}`, ...rows(facts, '    '), ...outcomes];
}

export function lookupText(lookup: LookupExplanation): string[] {
  const { dns } = lookup;
  const heading = `looked up (DNS servers ${dns.servers.join(', ')}; dns.dnssec ${dns.dnssec ? 'on: the AD bit counts' : 'off: no answer counts as DNSSEC-validated'})`;
  const domain: Row[] = [
    ...(lookup.mx ? [['MX', mxText(lookup.mx)] as Row] : []),
    ...(lookup.route.kind === 'failed' ? [['route', `no next hop: every message is ${lookup.route.outcome}: ${lookup.route.response}`] as Row] : []),
    ['DANE', daneText(lookup.dane)],
    ...mtaStsRows(lookup.mtaSts),
    ...(lookup.noListedMx ? [['no usable MX', `every message is deferred: ${lookup.noListedMx}`] as Row] : []),
  ];
  return [heading, ...rows(domain, '  '), ...lookup.hosts.flatMap((host) => hostText(host, lookup.mx !== null))];
}

import type { OutboundConnector } from '../config/types.js';
import { connectorPolicy } from '../policy/appliedPolicy.js';
import { selectOutboundConnector } from '../policy/outboundConnector.js';
import { mtaStsFacts, type MtaStsState } from '../policy/mtaSts.js';
import { consultedSources, waivedByHeader, type HostPlan, type PublishedFindings } from '../policy/publishedPolicy.js';
import type { RecipientResult } from '../queue/types.js';
import { deliverToAddress, routeResumesAt } from './addressDelivery.js';
import { recordAttempt, recordUndialled, type AttemptScope } from './attemptLog.js';
import { MessageProgress, stillOpen } from './messageProgress.js';
import type { Disposition } from './replies.js';
import type { DaneHost } from './publishedLookups.js';
import type { NextHop } from './route.js';
import { noListedMx, planRoute } from './routePlan.js';
import { recordForAll } from './sendMessages.js';
import { prepareSession, type SessionSettings } from './tlsLadder.js';
import { tlsRequiredNo } from './tlsRequiredHeader.js';
import type { DeliveryContext, MessageResult, OutgoingMessage } from './types.js';

/** Where nothing was reached (setup or routing failed): no host, no TLS, and the policy the connector's level alone makes. */
function unreachedScope(domain: string, connector: OutboundConnector): AttemptScope {
  return { domain, connector, host: null, tls: null, verdict: 'none', policy: connectorPolicy(connector.tls).source };
}

/** Deferred recipients whose next hops are all suspended are not to be tried before those come back. */
function notBefore(recipient: RecipientResult, resumesAt: number | undefined): RecipientResult {
  return recipient.outcome === 'deferred' && resumesAt !== undefined ? { ...recipient, notBefore: new Date(resumesAt).toISOString() } : recipient;
}

/**
 * Messages with and without `TLS-Required: No` (RFC 8689 §5): published policies are
 * planned for each group on its own. A REQUIRETLS message has the header ignored (§5).
 */
async function byTlsRequired(messages: MessageProgress[]): Promise<Array<{ tlsRequiredNo: boolean; messages: MessageProgress[] }>> {
  const flags = await Promise.all(messages.map((progress) => progress.message.requireTls !== true && tlsRequiredNo(progress.message.openData)));
  const groups = [false, true].map((flag) => ({ tlsRequiredNo: flag, messages: messages.filter((_, index) => flags[index] === flag) }));
  return groups.filter((group) => group.messages.length > 0);
}

/** One line per next hop and delivery saying which published source decides and why, when any was asked. */
function logPlan(ctx: DeliveryContext, domain: string, connector: OutboundConnector, hop: NextHop, plan: HostPlan, tlsRequiredNo: boolean): void {
  const fields = { domain, connector: connector.name, host: `${hop.name}:${hop.port}`, decidedBy: plan.decidedBy, plan: plan.kind, why: plan.explanation, ...(tlsRequiredNo ? { tlsRequired: 'no' } : {}) };
  if (plan.kind === 'connect') ctx.logger.info(fields, 'published policy');
  else ctx.logger.warn(fields, plan.kind === 'skip' ? 'published policy: MX host not used' : 'published policy: MX host deferred before dialling');
}

/** What the sources asked found for one host, for its transit records; undefined when none was asked. */
function findingsOf(dane: DaneHost | undefined, mtaSts: MtaStsState | undefined): PublishedFindings | undefined {
  if (dane === undefined && mtaSts === undefined) return undefined;
  return { ...(dane ? { tlsa: dane.finding } : {}), ...(mtaSts ? { mtaSts: mtaStsFacts(mtaSts) } : {}) };
}

/** The settings of sessions to one host: the plan's rule, and what DANE matches against. */
function hostSettings(base: SessionSettings, plan: Extract<HostPlan, { kind: 'connect' }>, dane: DaneHost | undefined, waived: boolean, published: PublishedFindings | undefined): SessionSettings {
  return {
    ...base,
    rule: plan.rule,
    ...(published ? { published } : {}),
    ...(plan.dane && dane ? { dane: { records: dane.usable, referenceNames: dane.referenceNames, serverName: dane.serverName } } : {}),
    ...(plan.unreported ? { unreported: plan.unreported } : {}),
    ...(waived ? { tlsRequiredNo: true as const } : {}),
  };
}

/** A host the plan skipped or deferred: its transit record, one for the messages of this delivery (TLS-RPT reports it). */
function recordNotDialled(ctx: DeliveryContext, domain: string, connector: OutboundConnector, hop: NextHop, plan: Extract<HostPlan, { kind: 'skip' | 'defer' }>, waived: boolean, published: PublishedFindings | undefined, open: MessageProgress[]): void {
  const host = { at: new Date(), domain, connector, host: hop.name, port: hop.port, tlsRequiredNo: waived, published, policy: plan.policy, failure: plan.failure, reply: `${plan.code} ${plan.text}` };
  recordUndialled(ctx.transit, host, open);
}

/**
 * One group of messages (all with or all without TLS-Required: No) over the route: the
 * route, the TLSA lookups and the MTA-STS policy at once (routePlan.ts), then each host
 * under its plan. Resolves with when the route can next be tried, if messages are left
 * open and every address of it is suspended.
 */
async function deliverGroup(domain: string, base: SessionSettings, messages: MessageProgress[], waived: boolean, ctx: DeliveryContext): Promise<number | undefined> {
  const { connector } = base;
  const { logger } = ctx;
  const consulted = consultedSources(connector, waived);
  // what the transit record says: the header switched a published source off
  const policiesWaived = waived && waivedByHeader(connector);
  // what the header switched off is said too
  const logged = waived || consulted.dane || consulted.mtaSts;
  const planned = await planRoute(connector, domain, waived, ctx);
  if (planned.kind === 'failed') {
    const { route } = planned;
    const result: Disposition = { outcome: route.permanent ? 'bounced' : 'deferred', code: route.code, response: route.response };
    recordForAll(logger, stillOpen(messages), unreachedScope(domain, connector), result);
    return undefined;
  }
  let dialled = false;
  // hosts in order; a recipient settled on one host is not tried again on the next
  for (const { hop, dane, plan } of planned.hops) {
    // a host no message is left for is neither logged nor recorded
    const open = stillOpen(messages);
    if (open.length === 0) return undefined;
    if (logged) logPlan(ctx, domain, connector, hop, plan, waived);
    const published = findingsOf(dane, planned.mtaSts);
    if (plan.kind !== 'connect') recordNotDialled(ctx, domain, connector, hop, plan, policiesWaived, published, open);
    if (plan.kind === 'skip') continue;
    dialled = true;
    if (plan.kind === 'defer') {
      recordForAll(logger, open, { domain, connector, host: `${hop.name}:${hop.port}`, tls: null, verdict: 'none', policy: plan.policy.source }, { outcome: 'deferred', code: plan.code, response: `${plan.code} ${plan.text}` });
      continue;
    }
    const settings = hostSettings(base, plan, dane, policiesWaived, published);
    for (const address of hop.addresses) {
      const open = stillOpen(messages);
      if (open.length === 0) return undefined;
      await deliverToAddress({ hop, address }, open, settings, domain, ctx);
    }
  }
  if (!dialled) recordForAll(logger, stillOpen(messages), unreachedScope(domain, connector), noListedMx(domain, planned.mtaSts));
  return routeResumesAt(planned.hops.map(({ hop }) => hop), connector, ctx);
}

/** Resolves with when the route can next be tried, if messages are left open and every address of it is suspended. */
async function deliverWithConnector(domain: string, connector: OutboundConnector, messages: MessageProgress[], ctx: DeliveryContext): Promise<number | undefined> {
  const { logger } = ctx;
  if (stillOpen(messages).length === 0) return undefined;
  const setup = await prepareSession(connector, ctx);
  if (setup.kind === 'failed') {
    recordForAll(logger, stillOpen(messages), unreachedScope(domain, connector), setup.result);
    return undefined;
  }
  const asked = consultedSources(connector, false);
  // the header is read only where it could change something
  const groups = asked.dane || asked.mtaSts ? await byTlsRequired(messages) : [{ tlsRequiredNo: false, messages }];
  let resumesAt: number | undefined;
  for (const group of groups) resumesAt = await deliverGroup(domain, setup.settings, group.messages, group.tlsRequiredNo, ctx);
  return resumesAt;
}

/**
 * Delivers messages for one recipient domain: picks the connector, resolves the route,
 * and tries the next hops in order over one connection per address, each under the
 * connector's TLS policy; a suspended address is skipped (addressDelivery.ts). Resolves
 * with one result per message, in the order given, and never rejects: whatever goes
 * wrong becomes a deferral that says why.
 */
export async function deliverDomain(domain: string, messages: OutgoingMessage[], ctx: DeliveryContext): Promise<MessageResult[]> {
  const progress = messages.map((message) => new MessageProgress(message));
  let connector: OutboundConnector | undefined;
  let resumesAt: number | undefined;
  try {
    connector = selectOutboundConnector(ctx.config, domain).connector;
    resumesAt = await deliverWithConnector(domain, connector, progress, ctx);
  } catch (err) {
    const result: Disposition = { outcome: 'deferred', code: 451, response: `451 4.3.0 internal error while delivering: ${(err as Error)?.message ?? String(err)}` };
    for (const open of stillOpen(progress)) {
      open.apply(open.pending.map((address) => ({ address, ...result })));
      try {
        if (connector !== undefined) recordAttempt(ctx.logger, open, unreachedScope(domain, connector), result);
      } catch {
        // the deferral above stands even when it cannot be logged
      }
    }
  }
  return progress.map((entry) => {
    const result = entry.result();
    return { ...result, recipients: result.recipients.map((recipient) => notBefore(recipient, resumesAt)) };
  });
}

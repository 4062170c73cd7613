import type { OutboundConnector } from '../config/types.js';
import { selectOutboundConnector } from '../policy/outboundConnector.js';
import type { RecipientResult } from '../queue/types.js';
import { deliverToAddress, routeResumesAt } from './addressDelivery.js';
import { recordAttempt, type AttemptScope } from './attemptLog.js';
import { MessageProgress, stillOpen } from './messageProgress.js';
import type { Disposition } from './replies.js';
import { resolveRoute } from './route.js';
import { recordForAll } from './sendMessages.js';
import { prepareSession } from './tlsLadder.js';
import type { DeliveryContext, MessageResult, OutgoingMessage } from './types.js';

/** Where nothing was reached (setup or routing failed): no host, no TLS. */
function unreachedScope(domain: string, connector: OutboundConnector): AttemptScope {
  return { domain, connector, host: null, tls: null, verdict: 'none' };
}

/** Deferred recipients whose next hops are all suspended are not to be tried before those come back. */
function notBefore(recipient: RecipientResult, resumesAt: number | undefined): RecipientResult {
  return recipient.outcome === 'deferred' && resumesAt !== undefined ? { ...recipient, notBefore: new Date(resumesAt).toISOString() } : recipient;
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
  const route = await resolveRoute(connector, domain, ctx.config);
  if (route.kind === 'failed') {
    const result: Disposition = { outcome: route.permanent ? 'bounced' : 'deferred', code: route.code, response: route.response };
    recordForAll(logger, stillOpen(messages), unreachedScope(domain, connector), result);
    return undefined;
  }
  // hosts in order; a recipient settled on one host is not tried again on the next
  for (const hop of route.hosts) {
    for (const address of hop.addresses) {
      const open = stillOpen(messages);
      if (open.length === 0) return undefined;
      await deliverToAddress({ hop, address }, open, setup.settings, domain, ctx);
    }
  }
  return routeResumesAt(route.hosts, connector, ctx);
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

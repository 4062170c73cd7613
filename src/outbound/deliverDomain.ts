import type { OutboundConnector } from '../config/types.js';
import type { Logger } from '../log.js';
import { selectOutboundConnector } from '../policy/outboundConnector.js';
import { recordAttempt, type AttemptScope } from './attemptLog.js';
import { MessageProgress } from './messageProgress.js';
import type { Disposition } from './replies.js';
import { resolveRoute } from './route.js';
import { recordForAll, sendMessages } from './sendMessages.js';
import {
  decideAfterRefusalClosed,
  openSession,
  peerName,
  peerWithPort,
  prepareSession,
  type HopAddress,
  type LadderMode,
  type LeftSession,
  type SessionSettings,
} from './tlsLadder.js';
import type { DeliveryContext, MessageResult, OutgoingMessage } from './types.js';

const stillOpen = (messages: MessageProgress[]): MessageProgress[] => messages.filter((progress) => !progress.settled);

/** Where nothing was reached (setup or routing failed): no host, no TLS. */
function unreachedScope(domain: string, connector: OutboundConnector): AttemptScope {
  return { domain, connector, host: null, tls: null, verdict: 'none' };
}

/**
 * One connection to one address under one ladder mode, carrying every message that is
 * still open. Returns 'fallback' when opportunistic TLS asks to try again in plaintext.
 */
async function runSession(target: HopAddress, messages: MessageProgress[], settings: SessionSettings, mode: LadderMode, domain: string, logger: Logger): Promise<'done' | 'fallback'> {
  const scope = { domain, connector: settings.connector, host: peerWithPort(target) };
  const opened = await openSession(target, settings, mode);
  let left: LeftSession;
  if (opened.kind === 'ready') {
    const end = await sendMessages(opened, messages, { ...scope, tls: opened.tls, verdict: opened.verdict }, peerName(target), logger);
    if (end.kind === 'finished') return 'done';
    left = decideAfterRefusalClosed(target, settings, end.reply);
  } else {
    left = opened;
  }
  if (left.kind === 'deferred') {
    recordForAll(logger, messages, { ...scope, tls: left.tls, verdict: left.verdict }, left.result);
    return 'done';
  }
  // the broken TLS connection is an attempt of its own; the plaintext one that follows decides
  for (const progress of messages) recordAttempt(logger, progress, { ...scope, tls: null, verdict: 'none' }, left.result);
  return 'fallback';
}

async function deliverToAddress(target: HopAddress, messages: MessageProgress[], settings: SessionSettings, domain: string, logger: Logger): Promise<void> {
  if ((await runSession(target, messages, settings, 'policy', domain, logger)) === 'fallback') {
    await runSession(target, stillOpen(messages), settings, 'plaintext-fallback', domain, logger);
  }
}

async function deliverWithConnector(domain: string, connector: OutboundConnector, messages: MessageProgress[], ctx: DeliveryContext): Promise<void> {
  const { logger } = ctx;
  if (stillOpen(messages).length === 0) return;
  const setup = await prepareSession(connector, ctx);
  if (setup.kind === 'failed') return recordForAll(logger, stillOpen(messages), unreachedScope(domain, connector), setup.result);
  const route = await resolveRoute(connector, domain, ctx.config);
  if (route.kind === 'failed') {
    const result: Disposition = { outcome: route.permanent ? 'bounced' : 'deferred', code: route.code, response: route.response };
    return recordForAll(logger, stillOpen(messages), unreachedScope(domain, connector), result);
  }
  // hosts in order; a recipient settled on one host is not tried again on the next
  for (const hop of route.hosts) {
    for (const address of hop.addresses) {
      const open = stillOpen(messages);
      if (open.length === 0) return;
      await deliverToAddress({ hop, address }, open, setup.settings, domain, logger);
    }
  }
}

/**
 * Delivers messages for one recipient domain: picks the connector, resolves the route,
 * and tries the next hops in order over one connection per address, each under the
 * connector's TLS policy. Resolves with one result per message, in the order given, and
 * never rejects: whatever goes wrong becomes a deferral that says why.
 */
export async function deliverDomain(domain: string, messages: OutgoingMessage[], ctx: DeliveryContext): Promise<MessageResult[]> {
  const progress = messages.map((message) => new MessageProgress(message));
  let connector: OutboundConnector | undefined;
  try {
    connector = selectOutboundConnector(ctx.config, domain).connector;
    await deliverWithConnector(domain, connector, progress, ctx);
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
  return progress.map((entry) => entry.result());
}

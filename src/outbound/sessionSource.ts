import { isIP } from 'node:net';
import type { ReleaseSlot, SlotLimits } from './connectionSlots.js';
import { sessionKey, stillAnswers, type ParkedSession, type SessionKey } from './sessionCache.js';
import type { HopAddress, SessionSettings } from './tlsLadder.js';
import type { DeliveryContext } from './types.js';

// Where the session for one delivery to one address comes from: a session parked there
// by an earlier delivery, or a connection slot to dial a new one — delivery.perHost and
// delivery.concurrency counted in connections, parked ones included.

/** A parked session (it holds its connection's slot already), or a slot to dial in. */
export type SessionSource = { kind: 'reused'; session: ParkedSession } | { kind: 'dial'; slot: ReleaseSlot };

/** `192.0.2.1:25`, `[2001:db8::1]:25`: the address dialled, whatever name led to it. Slots and backoff are kept by it. */
export function addressKey({ hop, address }: HopAddress): string {
  return `${isIP(address) === 6 ? `[${address}]` : address}:${hop.port}`;
}

/** Sessions are reused only for what judged them: this connector, this host name, this address, this rule. */
export function cacheKey(target: HopAddress, settings: SessionSettings): SessionKey {
  const { rule, dane } = settings;
  const published = rule.policy.source === 'dane' || rule.policy.source === 'mta-sts' || rule.testing !== undefined;
  return sessionKey(settings.connector, target.hop.name, addressKey(target), published ? JSON.stringify({ rule, tlsa: dane && { referenceNames: dane.referenceNames, serverName: dane.serverName } }) : '');
}

/**
 * A source about to be dialled counts as an open connection of its connector from now
 * until its slot is given back — once its socket is gone (DeliveryObserver).
 */
export function countedDial(source: SessionSource, connector: string, ctx: DeliveryContext): SessionSource {
  const { observer } = ctx;
  if (source.kind !== 'dial' || observer === undefined) return source;
  observer.connectionOpened(connector);
  let open = true;
  return {
    kind: 'dial',
    slot: () => {
      source.slot();
      if (!open) return;
      open = false;
      observer.connectionClosed(connector);
    },
  };
}

function slotLimits(ctx: DeliveryContext): SlotLimits {
  return { perHost: ctx.config.delivery.perHost, overall: ctx.config.delivery.concurrency };
}

export function takeSlot(target: HopAddress, ctx: DeliveryContext, signal?: AbortSignal): Promise<ReleaseSlot> {
  return ctx.slots.acquire(addressKey(target), slotLimits(ctx), signal);
}

/**
 * A parked session to the address if there is one, else a slot to dial in — unless,
 * while waiting for the slot, another delivery to the same next hop ends and hands its
 * session over. An idle session that holds the slot this delivery would wait for (under
 * another connector, or to another host when delivery.concurrency is the limit) is ended.
 */
export async function sessionOrSlot(target: HopAddress, settings: SessionSettings, ctx: DeliveryContext): Promise<SessionSource> {
  const key = cacheKey(target, settings);
  const parked = await ctx.sessions.take(key);
  if (parked) return { kind: 'reused', session: parked };
  if (ctx.slots.isFull(key.address, slotLimits(ctx)) && !ctx.sessions.closeIdle(key.address)) ctx.sessions.closeIdle();

  const withdraw = new AbortController();
  const slot = takeSlot(target, ctx, withdraw.signal);
  const handover = ctx.sessions.whenParked(key);
  const first = await Promise.race([slot.then((release) => ({ kind: 'dial' as const, release })), handover.session.then((session) => ({ kind: 'reused' as const, session }))]);
  if (first.kind === 'dial') {
    handover.cancel();
    return { kind: 'dial', slot: first.release };
  }
  withdraw.abort();
  // a slot granted just before the withdrawal is not needed after all
  slot.then(
    (release) => release(),
    () => undefined,
  );
  if (await stillAnswers(first.session)) return { kind: 'reused', session: first.session };
  return { kind: 'dial', slot: await takeSlot(target, ctx) };
}

import { isIP } from 'node:net';
import type { OutboundConnector } from '../config/types.js';
import type { Logger } from '../log.js';
import { recordAttempt } from './attemptLog.js';
import type { ReleaseSlot } from './connectionSlots.js';
import type { Outage, Pass } from './hostBackoff.js';
import { stillOpen, type MessageProgress } from './messageProgress.js';
import { suspendedDelivery, type Disposition } from './replies.js';
import type { NextHop } from './route.js';
import { recordForAll, sendMessages } from './sendMessages.js';
import { sessionKey, stillAnswers, type ParkedSession } from './sessionCache.js';
import {
  decideAfterRefusalClosed,
  openSession,
  peerWithPort,
  peerName,
  type HopAddress,
  type LadderMode,
  type LeftSession,
  type SessionSettings,
} from './tlsLadder.js';
import type { DeliveryContext } from './types.js';

// One address of a next hop: wait for a connection slot, ask the backoff whether the
// address may be dialled, deliver over one connection (two with the plaintext fallback),
// and tell the backoff how the address behaved.

/**
 * What one address showed of its health: it held a session (whatever it then said), no
 * session came about or it broke off (down for every connector), or the TLS handshake
 * under this connector's settings failed (down for this connector only: another
 * connector's TLS settings, or opportunistic's plaintext, may well work there).
 */
type AddressHealth = { kind: 'answered' } | { kind: 'down'; result: Disposition } | { kind: 'tls-down'; result: Disposition };

const ANSWERED: AddressHealth = { kind: 'answered' };

/** `192.0.2.1:25`, `[2001:db8::1]:25`: the address dialled, whatever name led to it. Slots and backoff are kept by it. */
function addressKey({ hop, address }: HopAddress): string {
  return `${isIP(address) === 6 ? `[${address}]` : address}:${hop.port}`;
}

/** The backoff scopes of a connection: its address for everyone, and its address under this connector's TLS. */
function backoffScopes(target: HopAddress, connector: OutboundConnector): { address: string; connectorTls: string } {
  const address = addressKey(target);
  return { address, connectorTls: `${address} connector=${connector.name}` };
}

function healthOf(left: Extract<LeftSession, { kind: 'deferred' }>): AddressHealth {
  switch (left.cause) {
    case 'unreachable':
      return { kind: 'down', result: left.result };
    case 'handshake':
      return { kind: 'tls-down', result: left.result };
    case 'policy':
      return ANSWERED;
  }
}

/** Sessions are reused only for what judged them: this connector, this host name, this address. */
function cacheKey({ hop, address }: HopAddress, settings: SessionSettings): string {
  return sessionKey(settings.connector, hop.name, address, hop.port);
}

/** Where a session comes from: one parked by an earlier delivery, or a new connection in this slot. */
type SessionSource = { kind: 'reused'; session: ParkedSession } | { kind: 'dial'; slot: ReleaseSlot };

/**
 * One connection to one address under one ladder mode, carrying every message that is
 * still open; afterwards a sound session under the connector's policy is parked for the
 * next delivery. Returns 'fallback' when opportunistic TLS asks to try again in plaintext.
 */
async function runSession(target: HopAddress, messages: MessageProgress[], settings: SessionSettings, mode: LadderMode, domain: string, ctx: DeliveryContext, source: SessionSource): Promise<AddressHealth | 'fallback'> {
  const { logger } = ctx;
  try {
    const scope = { domain, connector: settings.connector, host: peerWithPort(target) };
    const opened = source.kind === 'reused' ? { kind: 'ready' as const, ...source.session } : await openSession(target, settings, mode, source.slot);
    if (opened.kind === 'ready' && source.kind === 'dial') ctx.sessions.opened(opened.client);
    let left: LeftSession;
    if (opened.kind === 'ready') {
      const end = await sendMessages(opened, messages, { ...scope, tls: opened.tls, verdict: opened.verdict }, peerName(target), logger);
      if (end.kind === 'finished') {
        // a plaintext fallback is not the connector's policy: it is tried afresh next time
        if (mode === 'policy' && opened.refusedReply === undefined) ctx.sessions.park(cacheKey(target, settings), { client: opened.client, tls: opened.tls, verdict: opened.verdict });
        else opened.client.quit();
        return ANSWERED;
      }
      if (end.kind === 'lost') return { kind: 'down', result: end.result };
      left = decideAfterRefusalClosed(target, settings, end.reply);
    } else {
      left = opened;
    }
    if (left.kind === 'deferred') {
      recordForAll(logger, messages, { ...scope, tls: left.tls, verdict: left.verdict }, left.result);
      return healthOf(left);
    }
    // the broken TLS connection is an attempt of its own; the plaintext one that follows decides
    for (const progress of messages) recordAttempt(logger, progress, { ...scope, tls: null, verdict: 'none' }, left.result);
    return 'fallback';
  } catch (err) {
    // a connection we lost track of must not keep its slot for ever
    if (source.kind === 'dial') source.slot();
    else source.session.client.close();
    throw err;
  }
}

function takeSlot(target: HopAddress, ctx: DeliveryContext): Promise<ReleaseSlot> {
  const { perHost, concurrency } = ctx.config.delivery;
  return ctx.slots.acquire(addressKey(target), { perHost, overall: concurrency });
}

/**
 * A parked session to the address if there is one (it already holds its connection's
 * slot), else a slot to dial in — unless, while waiting for the slot, another delivery
 * to the same next hop ends and hands its session over.
 */
async function sessionOrSlot(target: HopAddress, settings: SessionSettings, ctx: DeliveryContext): Promise<SessionSource> {
  const key = cacheKey(target, settings);
  const parked = await ctx.sessions.take(key);
  if (parked) return { kind: 'reused', session: parked };
  const slot = takeSlot(target, ctx);
  const handover = ctx.sessions.whenParked(key);
  const first = await Promise.race([slot.then((release) => ({ kind: 'dial' as const, release })), handover.session.then((session) => ({ kind: 'reused' as const, session }))]);
  if (first.kind === 'dial') {
    handover.cancel();
    return { kind: 'dial', slot: first.release };
  }
  if (await stillAnswers(first.session)) {
    // the slot, whenever it comes, is not needed after all
    void slot.then((release) => release());
    return { kind: 'reused', session: first.session };
  }
  return { kind: 'dial', slot: await slot };
}

/** One line when a backoff period begins and one when the address works again: operators see outages, not every skipped message. */
function logDown(logger: Logger, target: HopAddress, outage: Outage | undefined, result: Disposition, connector?: OutboundConnector): void {
  if (outage === undefined) return;
  const fields = { host: peerWithPort(target), ...(connector ? { connector: connector.name } : {}), failures: outage.failures, until: new Date(outage.until).toISOString(), reason: result.response };
  logger.warn(fields, connector ? 'next hop down for this connector (TLS handshake)' : 'next hop down');
}

function logUp(logger: Logger, target: HopAddress, failures: number, connector?: OutboundConnector): void {
  if (failures === 0) return;
  logger.info({ host: peerWithPort(target), ...(connector ? { connector: connector.name } : {}), failures }, connector ? 'next hop up again for this connector' : 'next hop up again');
}

function reportHealth(ctx: DeliveryContext, target: HopAddress, connector: OutboundConnector, pass: Pass, health: AddressHealth): void {
  const { backoff, logger } = ctx;
  const scopes = backoffScopes(target, connector);
  const schedule = ctx.config.queue.retry;
  if (health.kind === 'down') {
    // says nothing about this connector's TLS there: its probe, if any, is released
    return logDown(logger, target, backoff.down(pass, scopes.address, health.result, schedule), health.result);
  }
  logUp(logger, target, backoff.up(scopes.address));
  if (health.kind === 'answered') return logUp(logger, target, backoff.up(scopes.connectorTls), connector);
  logDown(logger, target, backoff.down(pass, scopes.connectorTls, health.result, schedule), health.result, connector);
}

/**
 * Delivers the messages to one address, unless it is suspended: then they are deferred
 * with its last error ("delivery temporarily suspended: …") and no connection is made.
 */
export async function deliverToAddress(target: HopAddress, messages: MessageProgress[], settings: SessionSettings, domain: string, ctx: DeliveryContext): Promise<void> {
  const { connector } = settings;
  const source = await sessionOrSlot(target, settings, ctx);
  // asked only now: while this delivery waited for its slot, another may have found the address down
  const scopes = backoffScopes(target, connector);
  const admission = ctx.backoff.admit([scopes.address, scopes.connectorTls]);
  if (admission.kind === 'suspended') {
    if (source.kind === 'dial') source.slot();
    else source.session.client.quit();
    recordForAll(ctx.logger, messages, { domain, connector, host: peerWithPort(target), tls: null, verdict: 'none' }, suspendedDelivery(admission.lastError));
    return;
  }
  try {
    let health = await runSession(target, messages, settings, 'policy', domain, ctx, source);
    if (health === 'fallback') {
      const plaintext = await runSession(target, stillOpen(messages), settings, 'plaintext-fallback', domain, ctx, { kind: 'dial', slot: await takeSlot(target, ctx) });
      // a plaintext connection never asks for another
      health = plaintext === 'fallback' ? ANSWERED : plaintext;
    }
    reportHealth(ctx, target, connector, admission.pass, health);
  } finally {
    ctx.backoff.release(admission.pass);
  }
}

/**
 * When the route can next be tried, if every address of it is suspended now: the
 * earliest end of their backoff periods. Undefined when some address may be dialled.
 */
export function routeResumesAt(hosts: NextHop[], connector: OutboundConnector, ctx: DeliveryContext): number | undefined {
  let earliest: number | undefined;
  for (const hop of hosts) {
    for (const address of hop.addresses) {
      const scopes = backoffScopes({ hop, address }, connector);
      const resumes = ctx.backoff.resumesAt([scopes.address, scopes.connectorTls]);
      if (resumes === undefined) return undefined;
      earliest = Math.min(earliest ?? resumes, resumes);
    }
  }
  return earliest;
}

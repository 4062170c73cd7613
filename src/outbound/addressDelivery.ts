import type { OutboundConnector } from '../config/types.js';
import type { Logger } from '../log.js';
import type { ObservedTls } from '../policy/observedTls.js';
import { recordAttempt, recordSession, type AttemptScope, type DeliverySession, type SessionJudgement } from './attemptLog.js';
import type { Outage, Pass } from './hostBackoff.js';
import { loopEvidence, ownListenerAt } from './loopDetection.js';
import { stillOpen, type MessageProgress } from './messageProgress.js';
import { loopsBackToMyself, suspendedDelivery, type Disposition } from './replies.js';
import type { NextHop } from './route.js';
import { recordForAll, sendMessages } from './sendMessages.js';
import { addressKey, cacheKey, countedDial, sessionOrSlot, takeSlot, type SessionSource } from './sessionSource.js';
import {
  decideAfterRefusalClosed,
  openSession,
  peerWithPort,
  peerName,
  type HopAddress,
  type LadderMode,
  type LeftSession,
  type SessionOutcome,
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

/** Opportunistic TLS broke the session: try again in plaintext; `after` is what the TLS attempt showed. */
type Fallback = { kind: 'fallback'; after: ObservedTls };

const ANSWERED: AddressHealth = { kind: 'answered' };

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

/**
 * One connection to one address under one ladder mode, carrying every message that is
 * still open; afterwards a sound session under the connector's policy is parked for the
 * next delivery. Returns 'fallback' when opportunistic TLS asks to try again in plaintext.
 * A connection the next hop answered gets its transit record (one that never came about,
 * or led back to this relay, says nothing about transit security and gets none).
 */
async function runSession(target: HopAddress, messages: MessageProgress[], settings: SessionSettings, mode: LadderMode, domain: string, ctx: DeliveryContext, given: SessionSource): Promise<AddressHealth | Fallback | 'reconnect'> {
  const { logger } = ctx;
  const source = countedDial(given, settings.connector.name, ctx);
  const session: DeliverySession = {
    startedAt: new Date(),
    domain,
    connector: settings.connector,
    host: target.hop.name,
    ip: target.address,
    port: target.hop.port,
    reused: source.kind === 'reused',
    tlsRequiredNo: settings.tlsRequiredNo === true,
    fallback: mode.kind === 'plaintext-fallback',
    published: settings.published,
  };
  const triedBefore = messages.map((progress) => progress.attempts.length);
  const recordTransit = (judgement: SessionJudgement): void =>
    recordSession(
      ctx.transit,
      session,
      judgement,
      messages.map((progress, index) => ({ attempts: progress.attempts.slice(triedBefore[index]), tlsReport: progress.message.tlsReport === true })),
    );
  try {
    const scope = { domain, connector: settings.connector, host: peerWithPort(target), policy: settings.rule.policy.source };
    const opened: SessionOutcome & { carried?: boolean } = source.kind === 'reused' ? { kind: 'ready', ...source.session, carried: true } : await openSession(target, settings, mode, source.slot, logger);
    if (opened.kind === 'ready' && source.kind === 'dial') ctx.sessions.opened(opened.client);
    let left: LeftSession;
    if (opened.kind === 'ready') {
      const end = await sendMessages(opened, messages, { ...scope, tls: opened.tls, verdict: opened.verdict, policy: opened.policy.source }, peerName(target), logger);
      if (end.kind !== 'closed-after-refusal') recordTransit({ policy: opened.policy, tls: opened.tls, verdict: opened.verdict, failure: opened.failure, sourceIp: opened.client.localAddress, observed: opened.observed });
      if (end.kind === 'finished') {
        // a plaintext fallback is not the connector's policy: it is tried afresh next time
        const { client, tls, verdict, policy, failure, observed } = opened;
        if (mode.kind === 'policy' && opened.refusedReply === undefined) ctx.sessions.park(cacheKey(target, settings), { client, tls, verdict, policy, failure, observed });
        else client.quit();
        return ANSWERED;
      }
      if (end.kind === 'lost') return { kind: 'down', result: end.result };
      if (end.kind === 'ended') return 'reconnect';
      left = decideAfterRefusalClosed(target, settings, end.reply, opened.client.localAddress);
    } else {
      left = opened;
    }
    if (left.kind === 'loop') {
      recordLoop(ctx, messages, scope, left.evidence);
      return ANSWERED;
    }
    if (left.kind === 'deferred') {
      recordForAll(logger, messages, { ...scope, tls: left.tls, verdict: left.verdict, policy: left.policy.source }, left.result);
      if (left.cause !== 'unreachable') recordTransit(left);
      return healthOf(left);
    }
    // the broken TLS connection is an attempt of its own; the plaintext one that follows decides
    for (const progress of messages) recordAttempt(logger, progress, { ...scope, tls: null, verdict: 'none', policy: left.policy.source }, left.result);
    recordTransit({ policy: left.policy, tls: null, verdict: 'none', failure: left.failure, sourceIp: left.sourceIp, observed: left.observed });
    return { kind: 'fallback', after: left.observed };
  } catch (err) {
    // a connection we lost track of must not keep its slot for ever
    if (source.kind === 'dial') source.slot();
    else source.session.client.close();
    throw err;
  }
}

/** The next hop is this relay: a warning with the evidence, and every message deferred (see loopsBackToMyself). */
function recordLoop(ctx: DeliveryContext, messages: MessageProgress[], scope: Omit<AttemptScope, 'tls' | 'verdict'>, evidence: string): void {
  ctx.logger.warn({ domain: scope.domain, connector: scope.connector.name, host: scope.host, evidence }, 'mail loops back to myself: the next hop is this relay');
  // nothing was sent, so no TLS was judged
  recordForAll(ctx.logger, messages, { ...scope, tls: null, verdict: 'none' }, loopsBackToMyself(scope.domain));
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
 * runSession, and again on a new connection for as long as the next hop ends sessions
 * that carried mail (each one having carried at least one message more).
 */
async function runUntilDone(target: HopAddress, messages: MessageProgress[], settings: SessionSettings, mode: LadderMode, domain: string, ctx: DeliveryContext, source: SessionSource): Promise<AddressHealth | Fallback> {
  let health = await runSession(target, messages, settings, mode, domain, ctx, source);
  while (health === 'reconnect') {
    ctx.logger.info({ host: peerWithPort(target), connector: settings.connector.name, open: stillOpen(messages).length }, 'next hop ended a session that had carried mail; the rest goes over a new connection');
    health = await runSession(target, stillOpen(messages), settings, mode, domain, ctx, { kind: 'dial', slot: await takeSlot(target, ctx) });
  }
  return health;
}

/**
 * Delivers the messages to one address, unless it is suspended: then they are deferred
 * with its last error ("delivery temporarily suspended: …") and no connection is made.
 */
export async function deliverToAddress(target: HopAddress, messages: MessageProgress[], settings: SessionSettings, domain: string, ctx: DeliveryContext): Promise<void> {
  const { connector } = settings;
  const listener = ownListenerAt(target.address, target.hop.port, ctx.thisHost);
  if (listener) {
    // not even dialled: the relay would take the message from itself and route it here again
    recordLoop(ctx, messages, { domain, connector, host: peerWithPort(target), policy: settings.rule.policy.source }, loopEvidence(peerName(target), { listener }));
    return;
  }
  const source = await sessionOrSlot(target, settings, ctx);
  // asked only now: while this delivery waited for its slot, another may have found the address down
  const scopes = backoffScopes(target, connector);
  const admission = ctx.backoff.admit([scopes.address, scopes.connectorTls]);
  if (admission.kind === 'suspended') {
    if (source.kind === 'dial') source.slot();
    else source.session.client.quit();
    recordForAll(ctx.logger, messages, { domain, connector, host: peerWithPort(target), tls: null, verdict: 'none', policy: settings.rule.policy.source }, suspendedDelivery(admission.lastError));
    return;
  }
  try {
    const run = (mode: LadderMode, from: SessionSource) => runUntilDone(target, messages, settings, mode, domain, ctx, from);
    let health = await run({ kind: 'policy' }, source);
    if (health.kind === 'fallback') {
      const plaintext = await run({ kind: 'plaintext-fallback', after: health.after }, { kind: 'dial', slot: await takeSlot(target, ctx) });
      // a plaintext connection never asks for another
      health = plaintext.kind === 'fallback' ? ANSWERED : plaintext;
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

import type { OutboundConnector } from '../config/types.js';
import type { AppliedPolicy } from '../policy/appliedPolicy.js';
import type { ObservedTls } from '../policy/observedTls.js';
import type { TlsResultType } from '../policy/resultTypes.js';
import type { CertVerdict, TlsFacts } from '../queue/types.js';
import type { SmtpClient } from './smtpClient.js';

// Connection reuse across deliveries, as Postfix's connection cache does it: a session
// that has carried its messages waits briefly for the next delivery to the same next hop
// — another domain with the same MX, or the next round for the same one — which then
// skips the connect, greeting, EHLO and TLS handshake. A session is reused only under
// the policy that judged it: the key names the connector (of this config snapshot), the
// host name its certificate was checked against, and the address dialled.

/** A session ready for MAIL, with what its TLS was judged to be when it was opened. */
export interface ParkedSession {
  client: SmtpClient;
  tls: TlsFacts | null;
  verdict: CertVerdict;
  /** The policy it was judged under, for the transit record of each delivery it carries. */
  policy: AppliedPolicy;
  /** What it fell short of without being refused (an MTA-STS testing policy), recorded again for each delivery it carries. */
  failure: TlsResultType | null;
  /** What its TLS showed when it was opened, for the transit record of each delivery it carries. */
  observed: ObservedTls;
}

/** Where a session is parked and found: `id` for reuse, `address` (the connection slots' host) to free a slot. */
export interface SessionKey {
  id: string;
  address: string;
}

/** How long an idle session waits for a delivery (Postfix's smtp_connection_cache_time_limit). */
export const IDLE_LIMIT_MS = 2_000;
/** A session older than this is not reused, however busy (Postfix's smtp_connection_reuse_time_limit). */
export const REUSE_LIMIT_MS = 300_000;

/** Connector objects are per config snapshot: a reload's new policy never meets an old session. */
const connectorIds = new WeakMap<OutboundConnector, number>();
let lastConnectorId = 0;

/**
 * The key of sessions under `connector` to `address` (the slots' `address:port`), judged
 * against `hostName` under `rule` (what a published policy made of the connector's level,
 * as a string: a session judged under one rule never serves another).
 */
export function sessionKey(connector: OutboundConnector, hostName: string, address: string, rule = ''): SessionKey {
  let id = connectorIds.get(connector);
  if (id === undefined) {
    id = ++lastConnectorId;
    connectorIds.set(connector, id);
  }
  return { id: `${id} ${hostName} ${address}${rule === '' ? '' : ` ${rule}`}`, address };
}

/** A delivery waiting for a connection slot, which a session parked meanwhile serves as well. */
export interface ParkedWait {
  session: Promise<ParkedSession>;
  /** Withdraws the wait; a session already handed over goes back to the cache. */
  cancel(): void;
}

interface Idle {
  key: SessionKey;
  session: ParkedSession;
  timer: NodeJS.Timeout;
  stopWatching: () => void;
}

export class SessionCache {
  /** Oldest first, across every key. */
  private readonly idle: Idle[] = [];
  private readonly waiting = new Map<string, Array<(session: ParkedSession) => void>>();
  private readonly openedAt = new WeakMap<SmtpClient, number>();
  private closed = false;

  private readonly clock: () => number;
  private readonly idleLimitMs: number;

  constructor(options: { clock?: () => number; idleLimitMs?: number } = {}) {
    this.clock = options.clock ?? Date.now;
    this.idleLimitMs = options.idleLimitMs ?? IDLE_LIMIT_MS;
  }

  /** Marks a new session's start, from which its reuse time limit runs. */
  opened(client: SmtpClient): void {
    this.openedAt.set(client, this.clock());
  }

  /** Keeps a session that carried its messages for the next delivery under `key` (handing it to one waiting), or ends it. */
  park(key: SessionKey, session: ParkedSession): void {
    if (this.closed || !session.client.isOpen() || this.tooOld(session)) {
      session.client.quit();
      return;
    }
    const waiters = this.waiting.get(key.id);
    const waiter = waiters?.shift();
    if (waiters?.length === 0) this.waiting.delete(key.id);
    if (waiter !== undefined) return waiter(session);
    const entry: Idle = {
      key,
      session,
      timer: setTimeout(() => this.evict(entry, 'quit'), this.idleLimitMs).unref(),
      // a peer that hangs up on an idle session (its own idle timeout) leaves the cache
      stopWatching: session.client.onEnd(() => this.evict(entry, 'gone')),
    };
    this.idle.push(entry);
  }

  /** A parked session for `key` that still answers (see stillAnswers), or undefined: then dial anew. */
  async take(key: SessionKey): Promise<ParkedSession | undefined> {
    for (let entry = this.pop(key); entry !== undefined; entry = this.pop(key)) {
      if (this.tooOld(entry.session)) entry.session.client.quit();
      else if (await stillAnswers(entry.session)) return entry.session;
    }
    return undefined;
  }

  private tooOld(session: ParkedSession): boolean {
    return this.clock() - (this.openedAt.get(session.client) ?? this.clock()) >= REUSE_LIMIT_MS;
  }

  /**
   * The next session parked under `key`, for a delivery that waits for a connection
   * slot: when a delivery to the same next hop ends first, its session is handed over
   * rather than left idle while this one waits. Check it with stillAnswers().
   */
  whenParked(key: SessionKey): ParkedWait {
    const idle = this.pop(key);
    if (idle !== undefined && this.tooOld(idle.session)) idle.session.client.quit();
    else if (idle !== undefined) return { session: Promise.resolve(idle.session), cancel: () => this.park(key, idle.session) };
    let handedOver: ParkedSession | undefined;
    let serve: (session: ParkedSession) => void = () => undefined;
    const session = new Promise<ParkedSession>((resolve) => {
      serve = (parked) => {
        handedOver = parked;
        resolve(parked);
      };
    });
    const list = this.waiting.get(key.id) ?? [];
    list.push(serve);
    this.waiting.set(key.id, list);
    return {
      session,
      cancel: () => {
        const waiters = this.waiting.get(key.id);
        const index = waiters?.indexOf(serve) ?? -1;
        if (index >= 0) waiters!.splice(index, 1);
        if (waiters?.length === 0) this.waiting.delete(key.id);
        if (handedOver !== undefined) this.park(key, handedOver);
      },
    };
  }

  /**
   * Ends the oldest idle session to `address` (any address when undefined), so that its
   * connection slot goes to a delivery that would otherwise wait for it. False when none idles.
   */
  closeIdle(address?: string): boolean {
    const entry = this.idle.find((idle) => address === undefined || idle.key.address === address);
    if (entry !== undefined) this.evict(entry, 'quit');
    return entry !== undefined;
  }

  /** Shutdown: every idle session says QUIT, and none is parked from now on. */
  closeAll(): void {
    this.closed = true;
    for (const entry of [...this.idle]) this.evict(entry, 'quit');
  }

  /** The newest idle session under `key`: the one least likely to have been dropped by the peer. */
  private pop(key: SessionKey): Idle | undefined {
    let index = this.idle.length - 1;
    while (index >= 0 && this.idle[index]!.key.id !== key.id) index--;
    if (index < 0) return undefined;
    const [entry] = this.idle.splice(index, 1);
    forget(entry!);
    return entry;
  }

  private evict(entry: Idle, how: 'quit' | 'gone'): void {
    const index = this.idle.indexOf(entry);
    if (index < 0) return;
    this.idle.splice(index, 1);
    forget(entry);
    if (how === 'quit') entry.session.client.quit();
  }
}

/** RSET before reuse: one that fails is closed, which says nothing about the host. */
export async function stillAnswers(session: ParkedSession): Promise<boolean> {
  if ((await session.client.reset()) === undefined && session.client.isOpen()) return true;
  session.client.close();
  return false;
}

function forget(entry: Idle): void {
  clearTimeout(entry.timer);
  entry.stopWatching();
}

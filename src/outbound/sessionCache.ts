import type { OutboundConnector } from '../config/types.js';
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
}

/** How long an idle session waits for a delivery (Postfix's smtp_connection_cache_time_limit). */
export const IDLE_LIMIT_MS = 2_000;
/** A session older than this is not reused, however busy (Postfix's smtp_connection_reuse_time_limit). */
export const REUSE_LIMIT_MS = 300_000;

/** Connector objects are per config snapshot: a reload's new policy never meets an old session. */
const connectorIds = new WeakMap<OutboundConnector, number>();
let lastConnectorId = 0;

/** The key a session is parked and found under. */
export function sessionKey(connector: OutboundConnector, hostName: string, address: string, port: number): string {
  let id = connectorIds.get(connector);
  if (id === undefined) {
    id = ++lastConnectorId;
    connectorIds.set(connector, id);
  }
  return `${id} ${hostName} ${address} ${port}`;
}

interface Idle {
  session: ParkedSession;
  timer: NodeJS.Timeout;
  stopWatching: () => void;
}

/** A delivery waiting for a connection slot, which a session parked meanwhile serves as well. */
export interface ParkedWait {
  session: Promise<ParkedSession>;
  /** Withdraws the wait; a session already handed over goes back to the cache. */
  cancel(): void;
}

export class SessionCache {
  private readonly idle = new Map<string, Idle[]>();
  private readonly waiting = new Map<string, Array<(session: ParkedSession) => void>>();
  private readonly openedAt = new WeakMap<SmtpClient, number>();
  private closed = false;

  constructor(private readonly clock: () => number = Date.now) {}

  /** Marks a new session's start, from which its reuse time limit runs. */
  opened(client: SmtpClient): void {
    this.openedAt.set(client, this.clock());
  }

  /** Keeps a session that carried its messages for the next delivery under `key`, or ends it. */
  park(key: string, session: ParkedSession): void {
    const openedAt = this.openedAt.get(session.client) ?? this.clock();
    if (this.closed || !session.client.isOpen() || this.clock() - openedAt >= REUSE_LIMIT_MS) {
      session.client.quit();
      return;
    }
    const waiter = this.waiting.get(key)?.shift();
    if (waiter !== undefined) {
      if (this.waiting.get(key)?.length === 0) this.waiting.delete(key);
      waiter(session);
      return;
    }
    const entry: Idle = {
      session,
      timer: setTimeout(() => this.evict(key, entry, 'quit'), IDLE_LIMIT_MS).unref(),
      // a peer that hangs up on an idle session (its own idle timeout) leaves the cache
      stopWatching: session.client.onEnd(() => this.evict(key, entry, 'gone')),
    };
    const list = this.idle.get(key) ?? [];
    list.push(entry);
    this.idle.set(key, list);
  }

  /**
   * A parked session for `key` that still answers (RSET), or undefined: then dial anew.
   * One that fails its RSET is closed; that says nothing about the host.
   */
  async take(key: string): Promise<ParkedSession | undefined> {
    for (let entry = this.pop(key); entry !== undefined; entry = this.pop(key)) {
      if (await stillAnswers(entry.session)) return entry.session;
    }
    return undefined;
  }

  /**
   * The next session parked under `key`, for a delivery that waits for a connection
   * slot: when a delivery to the same next hop ends first, its session is handed over
   * rather than left idle while this one waits. Check it with stillAnswers().
   */
  whenParked(key: string): ParkedWait {
    let handedOver: ParkedSession | undefined;
    let cancelled = false;
    let serve: (session: ParkedSession) => void = () => undefined;
    const session = new Promise<ParkedSession>((resolve) => {
      serve = (parked) => {
        handedOver = parked;
        if (!cancelled) resolve(parked);
      };
    });
    const list = this.waiting.get(key) ?? [];
    list.push(serve);
    this.waiting.set(key, list);
    return {
      session,
      cancel: () => {
        cancelled = true;
        const waiters = this.waiting.get(key);
        const index = waiters?.indexOf(serve) ?? -1;
        if (index >= 0) waiters!.splice(index, 1);
        if (waiters?.length === 0) this.waiting.delete(key);
        if (handedOver !== undefined) this.park(key, handedOver);
      },
    };
  }

  /** Shutdown: every idle session says QUIT, and none is parked from now on. */
  closeAll(): void {
    this.closed = true;
    for (const [key, list] of this.idle) for (const entry of [...list]) this.evict(key, entry, 'quit');
  }

  private pop(key: string): Idle | undefined {
    const list = this.idle.get(key);
    const entry = list?.pop();
    if (list?.length === 0) this.idle.delete(key);
    if (entry) forget(entry);
    return entry;
  }

  private evict(key: string, entry: Idle, how: 'quit' | 'gone'): void {
    const list = this.idle.get(key);
    const index = list?.indexOf(entry) ?? -1;
    if (index < 0) return;
    list!.splice(index, 1);
    if (list!.length === 0) this.idle.delete(key);
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

// A next hop replaced between attempts on one fixed port (where a smart host or
// delivery.port points), as when a partner puts right the certificate the relay refused:
// each meeting starts the new peer there, has the relay try, and returns what it logged.
import type { Test } from 'tap';
import { startSink, type Sink, type SinkOptions } from './peers.js';
import type { KeyPair } from './pki.js';
import { retryNow, type LogLine, type RelayProcess } from './relayProcess.js';
import type { SubmitResult } from './smtpClient.js';

/**
 * Starts a sink with `options` (whose `port` is the fixed one), runs `tryNow` (send the
 * message, or `retryNow` it) and resolves with the relay's next attempt for `domain` and
 * the sink, which the caller closes.
 */
async function meetNextHop(relay: RelayProcess, domain: string, options: SinkOptions & { port: number }, tryNow: () => Promise<unknown>): Promise<{ attempt: LogLine; sink: Sink }> {
  const sink = await startSink(options);
  const attempt = relay.waitForNextLog((line) => line.msg === 'delivery attempt' && line.domain === domain, `the next attempt for ${domain}`);
  await tryNow();
  return { attempt: await attempt, sink };
}

/**
 * One message through a series of meetings: the first `tryNow` sends it (and throws
 * unless it got 250), later ones retry it now. `id()` is its queue ID once sent.
 */
export function oneMessage(configFile: string, send: () => Promise<SubmitResult>): { tryNow: () => Promise<void>; id: () => string | undefined } {
  let id: string | undefined;
  return {
    id: () => id,
    async tryNow() {
      if (id !== undefined) return retryNow(configFile, id);
      const sent = await send();
      if (!sent.ok) throw new Error(`the message was refused: ${sent.response}`);
      id = /^250 2\.0\.0 Ok: queued as (\S+)/.exec(sent.response)?.[1];
      if (id === undefined) throw new Error(`no queue ID in ${sent.response}`);
    },
  };
}

export interface Refusal {
  /** Certificate of the peer to be refused. */
  cert: KeyPair;
  /** The reason in the deferral text, after "Server certificate not verified for host H: ". */
  reason: string;
  verdict: 'trusted' | 'untrusted';
}

export interface VerifyPlan {
  domain: string;
  connector: string;
  /** The host dialled, as the log names it, e.g. 'mx1.fabrikam.test'. */
  host: string;
  /** The sink for a certificate: the fixed port and whatever else the peer demands. */
  peer: (cert: KeyPair) => SinkOptions & { port: number };
  message: ReturnType<typeof oneMessage>;
  /** Certificates the `verify` connector must refuse, met in this order. */
  refusals: Refusal[];
  /** The certificate it must accept, met last. */
  right: KeyPair;
}

/**
 * The message meets each peer of `plan.refusals` in turn — each attempt must be a 4.7.5
 * deferral with nothing sent — and then the right one, which it must be delivered to
 * over a verified session. Resolves with that last sink (still open: the caller asserts
 * what it received, then closes it).
 */
export async function refusedUntilVerified(t: Test, relay: RelayProcess, plan: VerifyPlan): Promise<Sink> {
  const expected = { connector: plan.connector, tlsLevel: 'verify', host: plan.host };
  for (const { cert, reason, verdict } of plan.refusals) {
    const { attempt, sink } = await meetNextHop(relay, plan.domain, plan.peer(cert), plan.message.tryNow);
    t.match(attempt, {
      ...expected,
      queueId: plan.message.id(),
      outcome: 'deferred',
      verdict,
      code: 450,
      response: `450 4.7.5 Server certificate not verified for host ${plan.host}[127.0.0.1]: ${reason}`,
    });
    t.equal(sink.received.length, 0, 'nothing was sent to it');
    await sink.close();
  }
  const { attempt, sink } = await meetNextHop(relay, plan.domain, plan.peer(plan.right), plan.message.tryNow);
  t.match(attempt, { ...expected, queueId: plan.message.id(), outcome: 'delivered', verdict: 'verified', code: 250 }, 'delivered once the certificate verifies');
  return sink;
}

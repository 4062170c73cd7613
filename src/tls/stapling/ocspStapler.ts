import { createHash, type X509Certificate } from 'node:crypto';
import type { Logger } from '../../log.js';
import { oneLineName } from '../distinguishedName.js';
import { servedBesideOtherKeyType } from '../certificateSelection.js';
import type { ServedCertificate } from '../material.js';
import { ocspResponders } from '../ocsp/ocspCheck.js';
import type { OcspFetch } from '../ocsp/ocspFetch.js';
import { ocspRequestFor } from '../ocsp/ocspRequest.js';
import { readOcspResponse } from '../ocsp/ocspResponse.js';
import { servedIssuer } from './servedIssuer.js';
import { refreshDelay, retryDelay, servable, stapleOf, type Staple } from './stapleSchedule.js';

/** One served certificate that names a responder, and what is known of its staple. */
interface Target {
  id: string;
  file: string;
  leaf: X509Certificate;
  issuer: X509Certificate;
  responders: string[];
  staple: Staple | undefined;
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

/** Where staples outlive the process, by certificate id; its failures are its own to log (a cache that fails costs a fetch). */
export interface StapleStore {
  read(certificateId: string): Promise<Buffer | undefined>;
  write(certificateId: string, der: Buffer): Promise<void>;
  remove(certificateId: string): Promise<void>;
}

export interface StaplerOptions {
  files: StapleStore;
  logger: Logger;
  fetch: OcspFetch;
  /** For one responder. */
  timeoutMs?: number;
  /** When to refresh and retry: stapleSchedule's rules unless a test speeds them up. */
  schedule?: { refreshDelay: typeof refreshDelay; retryDelay: typeof retryDelay };
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** What asking the responders came to. */
type Fetched = { kind: 'stapled'; staple: Staple; responder: string } | { kind: 'failed'; reason: string; revoked: boolean };

/** A served certificate by the SHA-256 of its DER: what the handshake hands over, and the cache file's name. */
const idOf = (der: Buffer): string => createHash('sha256').update(der).digest('hex');

/**
 * The OCSP staples of the served certificates: each read back from disk at once (a restart
 * staples before any responder answers), then kept fresh from the responders its AIA names.
 */
export class OcspStapler {
  private targets = new Map<string, Target>();
  private closed = false;

  private readonly delays: NonNullable<StaplerOptions['schedule']>;

  constructor(private readonly options: StaplerOptions) {
    this.delays = options.schedule ?? { refreshDelay, retryDelay };
  }

  /**
   * The certificates served from now on (at start, after a rotation or a reload; none when
   * tls.ocspStapling is off). A certificate still served keeps its staple and timer; a new
   * one is read back from disk — resolved once that is done — and fetched in the background.
   */
  async serve(certificates: readonly ServedCertificate[]): Promise<void> {
    const next = new Map<string, Target>();
    const added: Target[] = [];
    for (const served of certificates) {
      const id = idOf(served.leaf.raw);
      if (next.has(id)) continue;
      const kept = this.targets.get(id);
      // judged again when a certificate of another key type joins it
      const target = kept === undefined || servedBesideOtherKeyType(served, certificates) ? this.targetOf(id, served, certificates) : kept;
      if (target === undefined) continue;
      next.set(id, target);
      if (target !== kept) added.push(target);
    }
    for (const [id, target] of this.targets) if (!next.has(id)) clearTimeout(target.timer);
    this.targets = next;
    await Promise.all(added.map((target) => this.readBack(target)));
  }

  /** The staple for the certificate a handshake serves (its DER), while it is current. */
  stapleFor(certificateDer: Buffer, now = new Date()): Buffer | undefined {
    const staple = this.targets.get(idOf(certificateDer))?.staple;
    return staple !== undefined && servable(staple, now) ? staple.der : undefined;
  }

  close(): void {
    this.closed = true;
    for (const target of this.targets.values()) clearTimeout(target.timer);
    this.targets.clear();
  }

  private targetOf(id: string, served: ServedCertificate, certificates: readonly ServedCertificate[]): Target | undefined {
    const responders = ocspResponders(served.leaf);
    if (responders.length === 0) return undefined;
    const unstapled = (why: string): undefined => {
      this.options.logger.warn({ cert: served.files.cert, subject: oneLineName(served.leaf.subject) }, `no OCSP stapling for this certificate: ${why}`);
      return undefined;
    };
    // Node asks for one staple per handshake, for the context's last certificate, before
    // the client's algorithms choose among them: the other would get a staple not its own
    if (servedBesideOtherKeyType(served, certificates)) return unstapled('it is served beside a certificate of another key type for the same name, and a handshake can staple for only one of them');
    const issuer = servedIssuer(served);
    if (issuer === undefined) return unstapled('its file holds no issuer certificate after it (put the intermediate there)');
    return { id, file: served.files.cert, leaf: served.leaf, issuer, responders, staple: undefined, failures: 0, timer: undefined };
  }

  /** A cached response still good for this certificate is stapled at once; then, or else, the responder is asked. */
  private async readBack(target: Target): Promise<void> {
    const der = await this.options.files.read(target.id);
    const now = new Date();
    const staple = der === undefined ? undefined : stapleOf(der, readOcspResponse(der, target.leaf, target.issuer, now));
    if (!this.current(target)) return;
    if (staple === undefined || typeof staple === 'string') {
      this.schedule(target, 0);
      return;
    }
    target.staple = staple;
    this.options.logger.info({ cert: target.file, nextUpdate: staple.until.toISOString() }, 'OCSP staple read from the cache');
    this.schedule(target, this.delays.refreshDelay(staple, now));
  }

  private schedule(target: Target, delayMs: number): void {
    clearTimeout(target.timer);
    // nothing here is expected to throw (a failed fetch is an answer); if it does, the relay serves on without a staple
    target.timer = setTimeout(() => void this.refresh(target).catch((err: Error) => this.options.logger.error({ cert: target.file, err: err.message }, 'OCSP stapling stopped for this certificate')), delayMs);
    // a staple to come keeps no process alive
    target.timer.unref();
  }

  private current(target: Target): boolean {
    return !this.closed && this.targets.get(target.id) === target;
  }

  private async refresh(target: Target): Promise<void> {
    const { logger, files } = this.options;
    const fetched = await this.ask(target);
    if (!this.current(target)) return;
    const now = new Date();
    if (fetched.kind === 'stapled') {
      target.staple = fetched.staple;
      target.failures = 0;
      await files.write(target.id, fetched.staple.der);
      logger.info({ cert: target.file, responder: fetched.responder, nextUpdate: fetched.staple.until.toISOString() }, 'OCSP staple fetched');
      this.schedule(target, this.delays.refreshDelay(fetched.staple, now));
      return;
    }
    // a revoked certificate loses the staple it had: clients that check must learn it from the responder
    if (fetched.revoked) {
      target.staple = undefined;
      await files.remove(target.id);
    }
    target.failures += 1;
    const retryMs = this.delays.retryDelay(target.failures);
    const still = target.staple !== undefined && servable(target.staple, now) ? { stapledUntil: target.staple.until.toISOString() } : { stapled: false };
    logger.warn({ cert: target.file, reason: fetched.reason, retryInSeconds: Math.round(retryMs / 1000), ...still }, 'OCSP staple not fetched');
    this.schedule(target, retryMs);
  }

  /** The first responder's good answer; else what each said, and whether one said revoked. */
  private async ask(target: Target): Promise<Fetched> {
    const { fetch, timeoutMs = DEFAULT_TIMEOUT_MS } = this.options;
    const request = ocspRequestFor(target.leaf, target.issuer);
    const reasons: string[] = [];
    let revoked = false;
    for (const responder of target.responders) {
      try {
        const der = await fetch(responder, request, timeoutMs);
        const answer = readOcspResponse(der, target.leaf, target.issuer, new Date());
        const staple = stapleOf(der, answer);
        if (typeof staple !== 'string') return { kind: 'stapled', staple, responder };
        reasons.push(`${responder}: ${staple}`);
        revoked ||= answer.kind === 'revoked';
      } catch (err) {
        reasons.push(err instanceof Error ? err.message : String(err));
      }
    }
    return { kind: 'failed', reason: reasons.join('; '), revoked };
  }
}

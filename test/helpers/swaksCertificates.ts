// swaks as a partner's MTA, presenting a client certificate or none, against an inbound
// connector that requires one — the check an administrator runs by hand:
//
//   await checkClientCertificates(t, { port, from: 'billing@fabrikam.test', to: 'ap@contoso.test' }, [
//     { what: 'no certificate', refusal: '530 5.7.1 … no client certificate was presented' },
//     { what: 'the right certificate', certificate: partner },
//   ]);
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { KeyPair } from './pki.js';
import { runTool } from './tools.js';

export interface CertificateCase {
  what: string;
  /** Presented after STARTTLS; none when absent. */
  certificate?: KeyPair;
  /** The whole reply to MAIL FROM; absent when MAIL and RCPT must pass. */
  refusal?: string;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One swaks run per case (STARTTLS, quit after RCPT): refused at MAIL FROM with exactly `refusal` (exit 23), or exit 0. */
export async function checkClientCertificates(t: Test, session: { port: number; from: string; to: string }, cases: CertificateCase[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tlsrelay-swaks-'));
  try {
    for (const [index, { what, certificate, refusal }] of cases.entries()) {
      const files = certificate ? [join(dir, `${index}.crt`), join(dir, `${index}.key`)] : [];
      if (certificate) {
        writeFileSync(files[0]!, certificate.cert);
        writeFileSync(files[1]!, certificate.key);
      }
      const tlsArgs = certificate ? ['--tls-cert', files[0]!, '--tls-key', files[1]!] : [];
      const run = await runTool('swaks', ['--server', `127.0.0.1:${session.port}`, '--tls', ...tlsArgs, '--from', session.from, '--to', session.to, '--quit-after', 'RCPT']);
      if (refusal === undefined) {
        t.equal(run.code, 0, `${what}: through MAIL and RCPT`, { output: run.output });
        continue;
      }
      t.equal(run.code, 23, `${what}: MAIL FROM refused (swaks exit 23)`, { output: run.output });
      // swaks marks a reply inside TLS with ~ and an error reply with *
      t.match(run.output, new RegExp(`^<~\\* ${escapeRegExp(refusal)}$`, 'm'), `${what}: ${refusal}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

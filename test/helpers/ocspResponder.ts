// A real OCSP responder on loopback: `openssl ocsp` serving an index the test writes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ocspIndex, type KeyPair, type OcspIndexEntry } from './pki.js';

export interface ResponderOptions {
  /** The CA whose certificates it answers for. */
  ca: KeyPair;
  /** Signs the responses; the CA itself when absent. */
  signer?: KeyPair;
  index: OcspIndexEntry[];
  /** Take it from freePort(): the certificates' AIA names it before the responder starts. */
  port: number;
  /** nextUpdate this many minutes after each answer. */
  minutes?: number;
}

export interface OcspResponder {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts `openssl ocsp` as a responder and resolves once it listens. It answers requests
 * one after another, as many as come (no -nrequest), and reads its index once at start.
 * OpenSSL 3.0 takes only a port number: it listens on every address, the tests ask it on 127.0.0.1.
 */
export async function startOcspResponder({ ca, signer = ca, index, port, minutes = 5 }: ResponderOptions): Promise<OcspResponder> {
  const dir = await mkdtemp(join(tmpdir(), 'tlsrelay-ocsp-responder-'));
  const file = (name: string): string => join(dir, name);
  await Promise.all([
    writeFile(file('ca.crt'), ca.cert),
    writeFile(file('signer.crt'), signer.cert),
    writeFile(file('signer.key'), signer.key),
    writeFile(file('index.txt'), ocspIndex(index)),
  ]);
  const args = ['ocsp', '-index', file('index.txt'), '-port', String(port), '-rsigner', file('signer.crt'), '-rkey', file('signer.key'), '-CA', file('ca.crt'), '-nmin', String(minutes)];
  const child = spawn('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const closed = once(child, 'close');
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('waiting for OCSP client connections')) resolve();
    });
    void closed.then(() => reject(new Error(`openssl ocsp exited before listening: ${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await closed;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

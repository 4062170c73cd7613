// A volume the relay's user cannot write (the container's certs/ or spool mounted read-only,
// a systemd unit without ReadWritePaths=): start says which folder and which key in one
// line on stderr and exits 2, before it listens, with no stack trace. Root writes through
// file modes, so the folder is a read-only tmpfs in a private mount namespace.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN, runCommand } from '../helpers/relayProcess.js';
import { QUEUE_STORES } from '../helpers/queueStores.js';
import { needsTool } from '../helpers/tools.js';

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** `tlsrelay start -c FILE` with `readOnly` a read-only tmpfs. */
function startWithReadOnly(readOnly: string, file: string) {
  mkdirSync(readOnly, { recursive: true });
  return runCommand(['unshare', '-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs ${quote(readOnly)} && exec ${[process.execPath, MAIN, 'start', '-c', file].map(quote).join(' ')}`], join(readOnly, '..'));
}

t.test('a development certificate that cannot be written: the folder, the key, exit 2', needsTool('unshare', 'apt-get install util-linux'), async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'tlsrelay.yaml');
  writeFileSync(file, ['server: { hostname: relay.test }', 'listeners: [{ name: smtp, port: 0 }]', 'tls: { cert: certs/relay.crt, key: certs/relay.key, generateIfMissing: true }', 'queue: { dir: spool }', ''].join('\n'));
  const certs = join(dir, 'certs');
  const run = await startWithReadOnly(certs, file);
  t.equal(run.code, 2);
  t.equal(run.stdout, '', 'nothing logged as started or listening');
  t.equal(
    run.stderr,
    `${file}:3:36: tls.generateIfMissing: cannot write tls.key ${join(certs, 'relay.key')} into the folder ${certs} (EROFS): make that folder writable for the relay's user (uid ${process.getuid!()}), or put a certificate and its key there\n`,
  );
});

/** What each store names that it could not open: the spool folder, or the LMDB store's folder in it. */
const storeFolder = { files: (spool: string) => `the spool at ${spool}`, lmdb: (spool: string) => `the queue store at ${join(spool, 'lmdb')}` } as const;

for (const store of QUEUE_STORES) t.test(`queue.store ${store}: a spool folder that cannot be written: queue.dir at its place, exit 2`, needsTool('unshare', 'apt-get install util-linux'), async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'tlsrelay.yaml');
  writeFileSync(file, ['server: { hostname: relay.test }', 'listeners: [{ name: plain, port: 0, tls: none }]', `queue: { dir: spool, store: ${store} }`, ''].join('\n'));
  const spool = join(dir, 'spool');
  const run = await startWithReadOnly(spool, file);
  t.equal(run.code, 2);
  // the error code is the kernel's (EROFS; gVisor says ENOENT): the line, not the code, is the contract
  t.match(run.stderr, new RegExp(`^${escape(file)}:3:15: queue\\.dir: cannot open ${escape(storeFolder[store](spool))}: E[A-Z]+[^\\n]*\\n$`), 'one line at the key, naming the folder');
  t.notMatch(run.stderr, /\n\s+at /, 'no stack trace');
  t.notMatch(run.stdout, /"msg":"listening"/, 'never listened');
});

// The rooms of src/ and who may import whom (ARCHITECTURE.md, "Rooms", and transit/, the
// transit record of delivery sessions, ARCHITECTURE.md "Where the next pieces go", with
// tlsRpt/, the RFC 8460 reports made from it, and admin/, the admin listener): inbound and
// outbound never import each other, the spool is the only hand-off, and the policy
// engine stays free of I/O. Two things cross every wall: the logger, and — as types
// only — the plain records of src/queue/types.ts that travel through the spool.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { PROJECT_ROOT } from '../helpers/relayProcess.js';

const SRC = join(PROJECT_ROOT, 'src');

const allowed: Record<string, string[]> = {
  config: [],
  policy: ['config'],
  tls: ['config', 'log.ts'],
  inbound: ['policy', 'queue', 'tls', 'config', 'log.ts'],
  queue: ['config', 'log.ts'],
  outbound: ['policy', 'queue', 'tls', 'transit', 'config', 'log.ts'],
  // the transit record: written by outbound, read by the CLI (and TLS-RPT); it lies in the spool folder
  transit: ['policy', 'queue', 'config', 'log.ts'],
  // TLS-RPT: reads the transit record, looks up and sends with outbound's resolver, queues its mail reports
  tlsRpt: ['transit', 'policy', 'queue', 'outbound', 'tls', 'config', 'log.ts'],
  // the admin listener: reads the queue's counts, the transit record's sessions and the
  // certificates' dates; the labels' vocabularies (refusal reasons, policy sources) are
  // policy's. Inbound and outbound tell it what happens through observers of their own
  // (inboundObserver.ts, DeliveryObserver), wired in cli/, and never import it.
  admin: ['queue', 'transit', 'tls', 'policy', 'config', 'log.ts'],
  cli: ['*'],
  'main.ts': ['*'],
  'log.ts': [],
};

// The policy engine decides; it must not reach for sockets, files or timers.
const policyForbiddenModules = ['node:tls', 'node:fs', 'node:fs/promises', 'node:dns', 'node:dgram', 'node:child_process', 'smtp-server', 'nodemailer'];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const roomOf = (file: string): string => relative(SRC, file).split('/')[0]!;

for (const file of filesUnder(SRC)) {
  const room = roomOf(file);
  const source = readFileSync(file, 'utf8');
  const imports = [...source.matchAll(/^\s*(import type|import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((m) => ({ typeOnly: m[1] === 'import type', spec: m[2]! }));
  t.test(relative(PROJECT_ROOT, file), async (t) => {
    for (const { spec, typeOnly } of imports) {
      if (room === 'policy' && !spec.startsWith('.')) {
        t.notOk(policyForbiddenModules.includes(spec), `policy imports no I/O module (${spec})`);
      }
      if (!spec.startsWith('.')) continue;
      const targetFile = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      const target = roomOf(targetFile);
      if (target === room) continue;
      if (typeOnly && relative(SRC, targetFile) === 'queue/types.ts') continue;
      const may = allowed[room] ?? [];
      t.ok(may.includes('*') || may.includes(target), `${room} may import ${target} (${spec})`);
    }
  });
}

// `npm run bench:idle`: what idle SMTP sessions cost the relay (issue 12: the memory of
// 10,000 idle sessions, target under 512 MiB). N clients connect to the real relay (child
// process, dist/), say EHLO (and with --tls starttls finish STARTTLS and EHLO again), then
// stay silent; once all are open the relay's resident memory is read from /proc, against
// its memory before the first client, and the bench ends.
//
//   npm run bench:idle -- --sessions 10000 --tls none|starttls [--batch 200]
//
// --batch: how many clients connect at once (a listener's backlog is finite; what is
// measured is the sessions, not a connection storm). The relay's idleTimeout is an hour,
// so none is closed while the others open. Needs `ulimit -n` above twice --sessions (the
// client's sockets and the relay's are in one user's count here).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRelay, type RelayProcess } from '../helpers/relayProcess.js';
import { openSmtpSession, type SmtpSession } from '../helpers/smtpSession.js';
import { statusKib } from './procStatus.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '10000' },
    tls: { type: 'string', default: 'none' },
    batch: { type: 'string', default: '200' },
  },
});
const sessions = Number(values.sessions);
const batch = Number(values.batch);
const tls = values.tls;
if (!Number.isInteger(sessions) || sessions < 1) throw new Error(`--sessions takes a whole number above 0, not ${values.sessions}`);
if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch takes a whole number above 0, not ${values.batch}`);
if (tls !== 'none' && tls !== 'starttls') throw new Error(`--tls is none or starttls, not ${tls}`);

/** Resident memory now (VmRSS) and at its peak (VmHWM) of a process, in MiB. */
function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  return { rssMb: Math.round(statusKib(pid, 'VmRSS') / 1024), peakMb: Math.round(statusKib(pid, 'VmHWM') / 1024) };
}

const scratch = mkdtempSync(join(tmpdir(), 'tlsrelay-idle-bench-'));
const open: SmtpSession[] = [];
let relay: RelayProcess | undefined;
try {
  const configFile = join(scratch, 'tlsrelay.yaml');
  writeFileSync(
    configFile,
    `listeners: [{ name: smtp, port: 0, tls: ${tls === 'starttls' ? 'starttls' : 'none'} }]
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool }
smtp: { maxConnectionsPerIp: ${sessions + 10}, maxClients: ${sessions + 10}, idleTimeout: 1h }
`,
  );
  relay = startRelay(configFile);
  const port = await relay.port();
  const before = memoryOf(relay.child.pid!);
  const startedAt = performance.now();
  while (open.length < sessions) {
    const count = Math.min(batch, sessions - open.length);
    open.push(...(await Promise.all(Array.from({ length: count }, () => openSmtpSession({ port, tls })))));
  }
  const openedSeconds = (performance.now() - startedAt) / 1000;
  const after = memoryOf(relay.child.pid!);
  console.log(
    JSON.stringify(
      {
        sessions,
        tls,
        openedInSeconds: Number(openedSeconds.toFixed(1)),
        relayRssMb: { before: before.rssMb, withSessionsOpen: after.rssMb, peak: after.peakMb },
        kibPerSession: Math.round(((after.rssMb - before.rssMb) * 1024) / sessions),
      },
      null,
      2,
    ),
  );
} catch (err) {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  for (const session of open) session.quit();
  // nothing is queued, and SIGTERM would first say 421 to every idle session
  if (relay && relay.child.exitCode === null && relay.child.signalCode === null) await relay.kill9();
  rmSync(scratch, { recursive: true, force: true });
}
// sessions still closing would keep the process alive
process.exit();

// A private Postfix instance on loopback, for interop tests: its own config, queue and
// data directories in a temp dir, never the system service.
//
//   const postfix = await startPostfix({ relayhost: '[127.0.0.1]:2525', … });
//   … SMTP to 127.0.0.1:postfix.port; mail for virtualDomain lands in postfix.delivered() …
//   await postfix.stop();
//
// The minimal recipe, found by trying: a master.cf without chroot (a chroot needs copies
// of /etc files in the queue dir); `postfix start` creates the queue directories itself,
// but data_directory must already belong to mail_owner; a temp dir must be traversable
// by the postfix user; logs go to maillog_file (allowed by maillog_file_prefixes)
// through the postlog service, since nothing here runs syslog; config files are dated
// back, or every Postfix command waits for them to settle. Starting needs root.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.js';
import { needsTool, runTool } from './tools.js';

/** Options for a tap test that needs Postfix: skipped (or, under CI, failed) when it cannot run. */
export function needsPostfix(): { skip?: string } {
  const tool = needsTool('postfix', 'apt-get install postfix');
  if (tool.skip) return tool;
  if (process.getuid?.() === 0) return {};
  const reason = 'postfix needs root to start its master daemon';
  if (process.env.CI === 'true') throw new Error(`${reason}; CI must run this test`);
  return { skip: reason };
}

export interface PostfixOptions {
  /** Files for the config directory (certificates, keys): name → content. */
  files?: Record<string, string>;
  /** main.cf settings on top of the instance's own (paths, loopback, logging); `etc` is where `files` are. */
  main: (etc: string) => Record<string, string>;
  /** A domain Postfix delivers itself, into one maildir (see `waitForDelivered`). */
  virtualDomain?: string;
  /** The folder the instance's temp dir (config, queue, data) is made in; the system temp dir by default. */
  parentDir?: string;
}

export interface PostfixInstance {
  /** Its smtpd, on 127.0.0.1. */
  port: number;
  /** The master daemon's: every other Postfix process of the instance is its child. */
  masterPid: number;
  /** The maillog so far. */
  log(): string;
  /** Resolves once the maillog has a line matching `pattern` (polled: postlogd writes asynchronously). */
  waitForLog(pattern: RegExp): Promise<string>;
  /** Resolves with the messages delivered to the virtual domain once there are at least `count`. */
  waitForDelivered(count?: number): Promise<string[]>;
  stop(): Promise<void>;
}

const POLL_MS = 100;
const SERVICES = `
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;

function userId(name: string, flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
}

async function waitFor<T>(probe: () => T | undefined): Promise<T> {
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    await sleep(POLL_MS);
  }
}

export async function startPostfix(options: PostfixOptions): Promise<PostfixInstance> {
  const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'tlsrelay-postfix-'));
  // mkdtemp makes it 0700; Postfix's daemons run as the postfix user
  chmodSync(dir, 0o755);
  const path = (...parts: string[]): string => join(dir, ...parts);
  for (const sub of ['etc', 'queue', 'data', 'mail']) mkdirSync(path(sub));
  const uid = userId('postfix', '-u');
  const gid = userId('postfix', '-g');
  chownSync(path('data'), uid, gid);
  chownSync(path('mail'), uid, gid);
  for (const [name, content] of Object.entries(options.files ?? {})) writeFileSync(path('etc', name), content, { mode: 0o644 });

  const port = await freePort();
  const main: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: path('queue'),
    data_directory: path('data'),
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    myhostname: 'postfix.test',
    mydomain: 'postfix.test',
    myorigin: 'postfix.test',
    mydestination: '',
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    maillog_file: path('maillog'),
    maillog_file_prefixes: dir,
    alias_maps: '',
    alias_database: '',
    biff: 'no',
    // retry soon: a test waits for the second attempt rather than for minutes
    queue_run_delay: '1s',
    minimal_backoff_time: '1s',
    maximal_backoff_time: '2s',
    ...(options.virtualDomain
      ? {
          virtual_mailbox_domains: options.virtualDomain,
          virtual_mailbox_base: path('mail'),
          // every recipient into one maildir (the trailing slash makes it a maildir)
          virtual_mailbox_maps: 'static:inbox/',
          virtual_uid_maps: `static:${uid}`,
          virtual_gid_maps: `static:${gid}`,
          virtual_minimum_uid: String(uid),
        }
      : {}),
    ...options.main(path('etc')),
  };
  writeFileSync(path('etc', 'main.cf'), Object.entries(main).map(([key, value]) => `${key} = ${value}`).join('\n') + '\n');
  writeFileSync(path('etc', 'master.cf'), `127.0.0.1:${port} inet n - n - - smtpd${SERVICES}`);
  // Postfix waits for a config file written in the last seconds to settle (seconds per command)
  const settled = new Date(Date.now() - 60_000);
  for (const file of ['main.cf', 'master.cf']) utimesSync(path('etc', file), settled, settled);

  const log = (): string => (existsSync(path('maillog')) ? readFileSync(path('maillog'), 'utf8') : '');
  const postfix = (command: string) => runTool('postfix', ['-c', path('etc'), command]);
  const started = await postfix('start');
  if (started.code !== 0) {
    const why = `${started.output}\n${log()}`;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`postfix did not start: ${why}`);
  }
  const masterPid = Number(readFileSync(path('queue', 'pid', 'master.pid'), 'utf8').trim());
  // if the test process dies without its teardown, the master must not outlive it
  const killMaster = (): void => {
    try {
      process.kill(masterPid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killMaster);
  const running = (): boolean => {
    try {
      process.kill(masterPid, 0);
      return true;
    } catch {
      return false;
    }
  };

  const inbox = path('mail', 'inbox', 'new');
  return {
    port,
    masterPid,
    log,
    waitForLog: (pattern) => waitFor(() => log().split('\n').find((line) => pattern.test(line))),
    waitForDelivered: (count = 1) =>
      waitFor(() => {
        const files = existsSync(inbox) ? readdirSync(inbox).sort() : [];
        return files.length >= count ? files.map((file) => readFileSync(join(inbox, file), 'utf8')) : undefined;
      }),
    async stop() {
      if (running()) await postfix('stop');
      // `postfix stop` signals the master; it takes its children down before it exits
      for (let tries = 0; running() && tries < 50; tries++) await sleep(POLL_MS);
      killMaster();
      process.off('exit', killMaster);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

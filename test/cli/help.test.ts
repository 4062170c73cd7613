// --help, --version and usage errors as a person meets them (dist/main.js): a command's
// --help is its own usage on stdout with exit 0, a usage error that same usage on stderr
// after the reason with exit 64 — not the lines of every other command.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, runCli } from '../helpers/relayProcess.js';

const COMMANDS = ['start', 'check-config', 'health', 'config', 'hash-password', 'policy', 'queue', 'report', 'cert', 'tls'] as const;

/** The commands a usage text shows how to call ("usage: tlsrelay queue list …", "       tlsrelay queue show …"). */
const commandsShown = (text: string): string[] => [...new Set([...text.matchAll(/^(?:usage:| {6}) tlsrelay ([a-z-]+)/gm)].map((m) => m[1]!))];

t.test('COMMAND --help, -h and help COMMAND print that command’s usage on stdout and exit 0, doing nothing else', async (t) => {
  for (const name of COMMANDS) {
    // no config at this path: nothing is loaded, nothing starts, stdin is not read
    const answers = await Promise.all([
      runCli([name, '--help', '-c', '/nonexistent/tlsrelay.yaml']),
      runCli([name, '-h']),
      runCli(['help', name]),
    ]);
    for (const result of answers) {
      t.equal(result.code, 0, `${name}: exit 0`);
      t.equal(result.stderr, '', `${name}: nothing on stderr`);
      t.strictSame(commandsShown(result.stdout), [name], `${name}: its own calls, and no other command's`);
      t.match(result.stdout, /^options:\n {2}-c, --config FILE .*\n(?: {21}.*\n)* {2}-h, --help /m, `${name}: the options every command takes`);
      t.match(result.stdout.replace(/\s+/g, ' '), '$TLSRELAY_CONFIG, else ./config/tlsrelay.yaml when present, else /etc/tlsrelay/tlsrelay.yaml', `${name}: where the config is looked for without -c`);
    }
    t.equal(answers[1]!.stdout, answers[0]!.stdout, `${name}: -h is --help`);
    t.equal(answers[2]!.stdout, answers[0]!.stdout, `${name}: help ${name} is ${name} --help`);
  }
});

t.test('a subcommand’s --help is its command’s usage, before any argument is judged', async (t) => {
  const queue = await runCli(['queue', '--help']);
  for (const args of [['queue', 'list', '--help'], ['queue', 'show', 'not-an-id', '--help'], ['policy', 'explain', 'bad..name', '-h']]) {
    const result = await runCli(args);
    t.equal(result.code, 0, args.join(' '));
    t.strictSame(commandsShown(result.stdout), [args[0]], args.join(' '));
  }
  t.strictSame(commandsShown(queue.stdout), ['queue']);
  t.match(queue.stdout, /tlsrelay queue retry ID\|--all\|--domain D\n {10}attempt now\n/, 'each call with what it does');
  t.match((await runCli(['policy', '--help'])).stdout, /\n {6} tlsrelay policy explain DOMAIN --lookup \[--json\]\n {10}the same, with the domain's MX, TLSA and MTA-STS looked up/, 'explain with its lookups');
});

t.test('a usage error: the reason, then only that command’s usage, on stderr; exit 64', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['start', '--frobnicate'], /^tlsrelay start: Unknown option '--frobnicate'/],
    [['check-config', '--frobnicate'], /^tlsrelay check-config: Unknown option '--frobnicate'/],
    [['config'], /^tlsrelay config: missing subcommand: schema or show\n/],
    [['hash-password', 'secret'], /^tlsrelay hash-password: the password is read from stdin, not from the command line\n/],
    [['policy', 'explain'], /^tlsrelay policy: explain needs a DOMAIN or --inbound IP\n/],
    [['queue', 'list', '--frobnicate'], /^tlsrelay queue: Unknown option '--frobnicate'/],
  ];
  for (const [args, reason] of cases) {
    const name = args[0]!;
    const result = await runCli([...args, '-c', '/nonexistent/tlsrelay.yaml']);
    const help = await runCli([name, '--help']);
    t.equal(result.code, 64, `${args.join(' ')}: exit 64`);
    t.equal(result.stdout, '', `${args.join(' ')}: nothing on stdout`);
    t.match(result.stderr, reason, `${args.join(' ')}: says what is wrong`);
    t.ok(result.stderr.endsWith(help.stdout), `${args.join(' ')}: then the usage of ${name}`);
    t.strictSame(commandsShown(result.stderr), [name], `${args.join(' ')}: and of no other command`);
  }
});

t.test('tlsrelay --version prints the version of the package', async (t) => {
  const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  t.strictSame(await runCli(['--version']), { code: 0, stdout: `tlsrelay ${version}\n`, stderr: '' });
});

t.test('the overall usage: every command; on stdout for --help, on stderr (exit 64) without a command', async (t) => {
  const asked = await Promise.all([runCli(['--help']), runCli(['-h']), runCli(['help'])]);
  for (const result of asked) {
    t.equal(result.code, 0);
    t.equal(result.stderr, '');
    t.equal(result.stdout, asked[0]!.stdout);
  }
  const listed = [...asked[0]!.stdout.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]!);
  t.strictSame([...new Set(listed)], [...COMMANDS], 'every command, in order');
  t.match(asked[0]!.stdout, /--version/, 'and how to get the version');

  for (const [args, reason] of [
    [[], ''],
    [['frob'], 'tlsrelay: unknown command "frob"\n'],
    [['help', 'frob'], 'tlsrelay help: unknown command "frob"\n'],
    [['help', 'queue', 'list'], 'tlsrelay help: unexpected argument "list"\n'],
  ] as const) {
    const result = await runCli([...args]);
    t.equal(result.code, 64, args.join(' ') || '(no arguments)');
    t.equal(result.stdout, '', args.join(' ') || '(no arguments)');
    t.equal(result.stderr, `${reason}${asked[0]!.stdout}`, args.join(' ') || '(no arguments)');
  }
});

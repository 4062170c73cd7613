// The log lines themselves: ISO times, the format chosen for a terminal or a pipe, pretty
// lines that stay one line per event, a format switched in place; JSON lines written in
// batches, warnings and a person's lines at once, and no line lost when the process exits,
// throws or leaves a rejection unhandled right after logging (as the relay does after its stop).
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { batchedStdout, createLogger, LogOutput, logFormatFor } from '../src/log.js';
import { PROJECT_ROOT, runCommand } from './helpers/relayProcess.js';
import { until } from './helpers/until.js';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function capture(): { lines: string[]; write: (line: string) => void } {
  const lines: string[] = [];
  return { lines, write: (line) => void lines.push(line) };
}

t.test('time is ISO 8601 UTC with milliseconds, not epoch milliseconds', async (t) => {
  const out = capture();
  const before = Date.now();
  createLogger('info', out).info({ queueId: 'Q1' }, 'delivery attempt');
  const line = JSON.parse(out.lines[0]!) as { time: unknown };
  t.type(line.time, 'string');
  t.match(line.time, ISO_UTC);
  const at = Date.parse(line.time as string);
  t.ok(at >= Math.floor(before / 1000) * 1000 && at <= Date.now(), 'the time of the call');
});

t.test('log.format left out: pretty on a terminal, JSON for pipes and files; a configured format always wins', async (t) => {
  t.equal(logFormatFor(undefined, true), 'pretty');
  t.equal(logFormatFor(undefined, false), 'json');
  t.equal(logFormatFor('json', true), 'json');
  t.equal(logFormatFor('pretty', false), 'pretty');
});

t.test('LogOutput passes JSON through, prettifies on one line, and switches in place', async (t) => {
  const out = capture();
  const output = new LogOutput('json', { out });
  const logger = createLogger('info', output);
  logger.info({ session: 'S1', client: '192.0.2.7' }, 'connect');
  t.same(Object.keys(JSON.parse(out.lines[0]!) as object), ['level', 'time', 'name', 'session', 'client', 'msg'], 'JSON as pino writes it');

  output.format = 'pretty';
  logger.info({ session: 'S1', client: '192.0.2.7', tls: { protocol: 'TLSv1.3' } }, 'disconnect');
  const pretty = out.lines[1]!;
  t.match(pretty, /^\[\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\] INFO: disconnect \{"session":"S1","client":"192\.0\.2\.7","tls":\{"protocol":"TLSv1\.3"\}\}\n$/);
  t.notMatch(pretty, /\u001b\[/, 'no colours unless asked for');
  t.notMatch(pretty, /tlsrelay/, 'the name every line carries is left out');

  logger.error({ err: 'listen EADDRINUSE' }, 'cannot start the listeners');
  t.match(out.lines[2], /\] ERROR: cannot start the listeners \{"err":"listen EADDRINUSE"\}\n$/, 'an error message stays on its line');

  output.format = 'json';
  logger.warn('back');
  t.match(JSON.parse(out.lines[3]!) as object, { level: 40, msg: 'back' });
});

t.test('colours only when asked for (a terminal)', async (t) => {
  const out = capture();
  createLogger('info', new LogOutput('pretty', { out, colorize: true })).error('refused');
  t.match(out.lines[0], /\u001b\[31mERROR\u001b\[39m/);
});

/** Runs `body` after a logger on the default output (batches on stdout) of the built dist/log.js is made; its stdout and stderr. */
function logInChild(format: 'json' | 'pretty', body: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `
    const { createLogger, LogOutput } = await import(${JSON.stringify(join(PROJECT_ROOT, 'dist', 'log.js'))});
    const logger = createLogger('info', new LogOutput(${JSON.stringify(format)}));
    ${body}
  `;
  return runCommand([process.execPath, '--input-type=module', '-e', script], PROJECT_ROOT);
}

const linesOf = (stdout: string): string[] => stdout.split('\n').filter((line) => line !== '');

t.test('a process that exits right after logging loses no line, in either format', async (t) => {
  const lines = 5000;
  for (const format of ['json', 'pretty'] as const) {
    const { code, stdout } = await logInChild(format, `for (let i = 0; i < ${lines}; i++) logger.info({ i, padding: 'x'.repeat(200) }, 'line'); process.exit(0);`);
    t.equal(code, 0);
    const written = linesOf(stdout);
    t.equal(written.length, lines, `${format}: every line reached stdout`);
    t.match(written.at(-1), format === 'json' ? /"i":4999,/ : /INFO: line \{"i":4999,/, `${format}: the last one too`);
  }
});

t.test('lines still held back when the process throws or leaves a rejection unhandled reach stdout, in order', async (t) => {
  // logged in the same tick as the failure: no batch timer can have written them first
  const cases = {
    'an uncaught exception': `throw new Error('injected failure');`,
    'an unhandled rejection': `Promise.reject(new Error('injected failure'));`,
  };
  for (const [what, failure] of Object.entries(cases)) {
    const { code, stdout, stderr } = await logInChild('json', `for (let i = 0; i < 3; i++) logger.info({ i }, 'line'); ${failure}`);
    t.equal(code, 1, `${what}: exit 1`);
    t.match(stderr, /injected failure/, `${what}: Node reports it on stderr`);
    t.same(
      linesOf(stdout).map((line) => (JSON.parse(line) as { i: number }).i),
      [0, 1, 2],
      `${what}: every line on stdout`,
    );
  }
});

t.test('a stdout nobody reads any more: the lines are dropped and the process still exits with its own code', async (t) => {
  // the child logs only once the test has closed the reading end: its writes get EPIPE
  const script = `
    const { readSync } = await import('node:fs');
    const { createLogger, LogOutput } = await import(${JSON.stringify(join(PROJECT_ROOT, 'dist', 'log.js'))});
    const logger = createLogger('info', new LogOutput('json'));
    readSync(0, Buffer.alloc(1));
    for (let i = 0; i < 3; i++) logger.info({ i }, 'line');
    process.exitCode = 3;
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.destroy();
  child.stdin.end('x');
  const [code] = (await once(child, 'close')) as [number];
  t.equal(code, 3, 'it exits, and with the code it set');
  t.equal(stderr, '', 'quietly');
});

t.test('a warning is written at once, with the lines held back before it', async (t) => {
  // The child blocks its thread right after the warning, until told to go on: no timer of
  // its own can write for it then. A warning held back would hang the test (tap's timeout).
  const script = `
    const { readSync } = await import('node:fs');
    const { createLogger, LogOutput } = await import(${JSON.stringify(join(PROJECT_ROOT, 'dist', 'log.js'))});
    const logger = createLogger('info', new LogOutput('json'));
    logger.info('before');
    logger.warn('warning');
    readSync(0, Buffer.alloc(1));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let stdout = '';
  const warned = new Promise<void>((resolve) =>
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('"msg":"warning"')) resolve();
    }),
  );
  await warned;
  t.same(
    linesOf(stdout).map((line) => {
      const { level, msg } = JSON.parse(line) as { level: number; msg: string };
      return { level, msg };
    }),
    [
      { level: 30, msg: 'before' },
      { level: 40, msg: 'warning' },
    ],
    'the info line before it, then the warning',
  );
  child.stdin.end('x');
  t.equal(((await once(child, 'close')) as [number])[0], 0);
});

t.test('batchedStdout: JSON lines wait for a batch; a flush, a full batch or the batch timer writes them', async (t) => {
  const file = join(t.testdir(), 'out.log');
  const fd = openSync(file, 'w');
  t.teardown(() => closeSync(fd));
  const written = (): string[] => linesOf(readFileSync(file, 'utf8'));
  const sink = batchedStdout(fd);
  const output = new LogOutput('json', { out: sink });
  const logger = createLogger('info', output);

  logger.info('one');
  logger.info('two');
  t.same(written(), [], 'info lines are held back');
  logger.warn('three');
  t.same(written().map((line) => (JSON.parse(line) as { msg: string }).msg), ['one', 'two', 'three'], 'a warning writes them, in order, and itself');

  for (let i = 0; written().length === 3; i++) logger.info({ i, padding: 'x'.repeat(200) }, 'filler');
  t.ok(readFileSync(file).length >= 16 * 1024, 'a batch of 16 KiB is written without a flush');
  const total = (): number => written().length;
  const before = total();
  logger.info('last');
  t.equal(total(), before, 'the next line is held back again');
  // the timer, not a timed assertion: whenever it fires, the line gets there
  await until(() => total() === before + 1, 10);
  t.match(JSON.parse(written().at(-1)!), { msg: 'last' }, 'the batch timer writes what waits');
});

t.test('on a terminal or in the pretty format, every line is written at once', async (t) => {
  for (const [format, terminal] of [
    ['json', true],
    ['pretty', false],
  ] as const) {
    const file = join(t.testdir(), `${format}.log`);
    const fd = openSync(file, 'w');
    t.teardown(() => closeSync(fd));
    const logger = createLogger('info', new LogOutput(format, { out: batchedStdout(fd), terminal }));
    logger.info('one');
    t.equal(linesOf(readFileSync(file, 'utf8')).length, 1, `${format}${terminal ? ' on a terminal' : ''}: the line is there`);
  }
});

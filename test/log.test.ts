// The log lines themselves: ISO times, the format chosen for a terminal or a pipe, pretty
// lines that stay one line per event, a format switched in place, and no line lost when
// the process exits right after logging (as the relay does after its stop).
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createLogger, LogOutput, logFormatFor } from '../src/log.js';
import { PROJECT_ROOT } from './helpers/relayProcess.js';

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

t.test('a process that exits right after logging loses no line, in either format', async (t) => {
  const lines = 5000;
  for (const format of ['json', 'pretty'] as const) {
    const script = `
      const { createLogger, LogOutput } = await import(${JSON.stringify(join(PROJECT_ROOT, 'dist', 'log.js'))});
      const logger = createLogger('info', new LogOutput(${JSON.stringify(format)}));
      for (let i = 0; i < ${lines}; i++) logger.info({ i, padding: 'x'.repeat(200) }, 'line');
      process.exit(0);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const [code] = (await once(child, 'close')) as [number];
    t.equal(code, 0);
    const written = stdout.split('\n').filter((line) => line !== '');
    t.equal(written.length, lines, `${format}: every line reached stdout`);
    t.match(written.at(-1), format === 'json' ? /"i":4999,/ : /INFO: line \{"i":4999,/, `${format}: the last one too`);
  }
});

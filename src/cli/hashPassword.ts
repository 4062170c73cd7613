import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { hashPassword } from '../config/passwords.js';
import { EXIT_USAGE, UsageError, type CommandIo } from './args.js';

/**
 * The first line of stdin without its line ending (undefined when there is none). On a
 * terminal it prompts on stderr and echoes nothing.
 */
function readPasswordLine(io: CommandIo): Promise<string | undefined> {
  const terminal = (io.stdin as NodeJS.ReadableStream & { isTTY?: boolean }).isTTY === true;
  if (terminal) io.stderr.write('Password: ');
  const silent = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity, ...(terminal ? { output: silent, terminal: true } : {}) });
  return new Promise((resolve) => {
    let password: string | undefined;
    lines.once('line', (line) => {
      password = line;
      lines.close();
    });
    // in raw mode Ctrl-C arrives as input, not as a signal
    lines.once('SIGINT', () => lines.close());
    lines.once('close', () => {
      if (terminal) io.stderr.write('\n');
      resolve(password);
    });
  });
}

/**
 * `tlsrelay hash-password`: reads a password from stdin and prints its scrypt hash for
 * `auth.users[].passwordHash` — on stdout, and nothing else there.
 */
export async function hashPasswordCommand(positionals: string[], io: CommandIo): Promise<number> {
  // a password on the command line would end up in the shell history and in ps
  if (positionals.length > 0) throw new UsageError('the password is read from stdin, not from the command line');
  const password = await readPasswordLine(io);
  if (!password) {
    io.stderr.write('tlsrelay hash-password: no password given (expected one line on stdin)\n');
    return EXIT_USAGE;
  }
  io.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}

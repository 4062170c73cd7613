#!/usr/bin/env node
import { parseCommandArgs, EXIT_USAGE, UsageError, type Command, type CommandIo } from './cli/args.js';
import { checkConfigCommand } from './cli/checkConfig.js';
import { startCommand } from './cli/start.js';

const USAGE = `usage: tlsrelay <command> [options]

commands:
  start [-c FILE]          run the relay
  check-config [-c FILE]   validate the config file (exit 0 valid, 2 invalid)

every command takes -c FILE (default config/tlsrelay.yaml)
`;

const commands: Record<string, Command> = {
  start: (args, io) => startCommand(parseCommandArgs(args, {}).configFile, io.stderr),
  'check-config': (args, io) => checkConfigCommand(parseCommandArgs(args, {}).configFile, io.stdout, io.stderr),
};

async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(USAGE);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const command = commands[name];
  if (!command) {
    io.stderr.write(`tlsrelay: unknown command "${name}"\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    return await command(args, io);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`tlsrelay ${name}: ${err.message}\n${USAGE}`);
    return EXIT_USAGE;
  }
}

main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`tlsrelay: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);

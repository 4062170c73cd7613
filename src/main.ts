#!/usr/bin/env node
import { parseCommandArgs, EXIT_USAGE, HelpRequested, UsageError, type Command, type CommandIo } from './cli/args.js';
import { checkConfigCommand } from './cli/checkConfig.js';
import { configCommand } from './cli/config.js';
import { hashPasswordCommand } from './cli/hashPassword.js';
import { policyCommand } from './cli/policyExplain.js';
import { queueCommand } from './cli/queue.js';
import { startCommand } from './cli/start.js';
import { commandUsage, isCommandName, overallUsage, type CommandName } from './cli/usage.js';
import { packageVersion } from './cli/version.js';

const commands: Record<CommandName, Command> = {
  // a stopped relay exits even if a delivery that outlived the grace period still holds a socket
  start: async (args, io) => process.exit(await startCommand(parseCommandArgs(args, {}).configFile, io.stderr)),
  'check-config': (args, io) => checkConfigCommand(parseCommandArgs(args, {}).configFile, io.stdout, io.stderr),
  config: (args, io) => configCommand(args, io),
  'hash-password': (args, io) => hashPasswordCommand(parseCommandArgs(args, {}).positionals, io),
  policy: (args, io) => policyCommand(args, io),
  queue: (args, io) => queueCommand(args, io),
};

/** `tlsrelay help [COMMAND]`: the overall usage, or that command's. */
function helpCommand(topics: string[], io: CommandIo): number {
  const [topic, ...extra] = topics;
  if (topic === undefined) {
    io.stdout.write(overallUsage());
    return 0;
  }
  if (!isCommandName(topic) || extra.length > 0) {
    io.stderr.write(`tlsrelay help: ${isCommandName(topic) ? `unexpected argument "${extra[0]}"` : `unknown command "${topic}"`}\n${overallUsage()}`);
    return EXIT_USAGE;
  }
  io.stdout.write(commandUsage(topic));
  return 0;
}

async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    io.stderr.write(overallUsage());
    return EXIT_USAGE;
  }
  if (name === '--version') {
    io.stdout.write(`tlsrelay ${packageVersion()}\n`);
    return 0;
  }
  if (name === '-h' || name === '--help' || name === 'help') return helpCommand(args, io);
  if (!isCommandName(name)) {
    io.stderr.write(`tlsrelay: unknown command "${name}"\n${overallUsage()}`);
    return EXIT_USAGE;
  }
  try {
    return await commands[name](args, io);
  } catch (err) {
    if (err instanceof HelpRequested) {
      io.stdout.write(commandUsage(name));
      return 0;
    }
    if (!(err instanceof UsageError)) throw err;
    // that command's usage only: the twenty lines of all of them would bury the reason
    io.stderr.write(`tlsrelay ${name}: ${err.message}\n${commandUsage(name)}`);
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

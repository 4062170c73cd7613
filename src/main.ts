#!/usr/bin/env node
import { parseCommandArgs, EXIT_USAGE, HelpRequested, UsageError, type Command, type CommandIo } from './cli/args.js';
import { commandUsage, isCommandName, overallUsage, type CommandName } from './cli/usage.js';
import { packageVersion } from './cli/version.js';

// Each command's code is loaded when it runs: a `report tls` or a `queue list` does not
// pay for loading the SMTP server and client, which took half a second of every start.
// Arguments are judged before that, so a `--help` or a usage error loads nothing more.
const commands: Record<CommandName, Command> = {
  start: async (args, io) => {
    const { configOption } = parseCommandArgs(args, {});
    const { startCommand } = await import('./cli/start.js');
    // a stopped relay exits even if a delivery that outlived the grace period still holds a socket
    process.exit(await startCommand(configOption, io.stderr));
  },
  'check-config': async (args, io) => {
    const { configOption } = parseCommandArgs(args, {});
    return (await import('./cli/checkConfig.js')).checkConfigCommand(configOption, io.stdout, io.stderr);
  },
  health: async (args, io) => {
    const { configOption } = parseCommandArgs(args, {});
    return (await import('./cli/health.js')).healthCommand(configOption, io.stdout, io.stderr);
  },
  config: async (args, io) => (await import('./cli/config.js')).configCommand(args, io),
  'hash-password': async (args, io) => {
    const { positionals } = parseCommandArgs(args, {});
    return (await import('./cli/hashPassword.js')).hashPasswordCommand(positionals, io);
  },
  policy: async (args, io) => (await import('./cli/policy.js')).policyCommand(args, io),
  queue: async (args, io) => (await import('./cli/queue.js')).queueCommand(args, io),
  report: async (args, io) => (await import('./cli/report.js')).reportCommand(args, io),
  cert: async (args, io) => (await import('./cli/cert.js')).certCommand(args, io),
  tls: async (args, io) => (await import('./cli/tlsProbe.js')).tlsCommand(args, io),
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

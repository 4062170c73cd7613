#!/usr/bin/env node
import { parseCommandArgs, EXIT_USAGE, UsageError, type Command, type CommandIo } from './cli/args.js';
import { checkConfigCommand } from './cli/checkConfig.js';
import { configCommand } from './cli/config.js';
import { hashPasswordCommand } from './cli/hashPassword.js';
import { policyCommand } from './cli/policyExplain.js';
import { queueCommand } from './cli/queue.js';
import { reportCommand } from './cli/report.js';
import { startCommand } from './cli/start.js';

const USAGE = `usage: tlsrelay <command> [options]

commands:
  start [-c FILE]          run the relay
  check-config [-c FILE]   validate the config file (exit 0 valid, 2 invalid)
  config show [-n] [--json]
                           every config key with its value after defaults (-n: only those the file sets)
  config schema            the JSON Schema of the config file, for editors
  hash-password            read a password from stdin, print its hash for auth.users
  policy explain DOMAIN [--json]
                           the outbound connector, TLS level and route for a recipient domain
  policy explain --inbound IP [--sender ADDR] [--cert-name NAME] [--json]
                           the inbound connector and the replies a session with these facts gets
  queue list [--domain D] [--json]
                           the queued messages, one line each
  queue show ID [--json]   a message's envelope, its attempts with their TLS, its errors
  queue retry ID|--all|--domain D
                           attempt now
  queue delete ID [--silent]
                           remove a message, bouncing it to the sender unless --silent
  queue hold ID            never deliver it until released
  queue release ID         back on its retry schedule
  report tls [--since 24h] [--domain D] [--json]
                           delivery sessions per recipient domain by TLS version, certificate
                           verdict and policy; failures by reason; the share verified

every command takes -c FILE (default config/tlsrelay.yaml)
`;

const commands: Record<string, Command> = {
  // a stopped relay exits even if a delivery that outlived the grace period still holds a socket
  start: async (args, io) => process.exit(await startCommand(parseCommandArgs(args, {}).configFile, io.stderr)),
  'check-config': (args, io) => checkConfigCommand(parseCommandArgs(args, {}).configFile, io.stdout, io.stderr),
  config: (args, io) => configCommand(args, io),
  'hash-password': (args, io) => hashPasswordCommand(parseCommandArgs(args, {}).positionals, io),
  policy: (args, io) => policyCommand(args, io),
  queue: (args, io) => queueCommand(args, io),
  report: (args, io) => reportCommand(args, io),
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

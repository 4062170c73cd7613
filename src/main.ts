#!/usr/bin/env node
import { parseCommandArgs, EXIT_USAGE, UsageError, type Command, type CommandIo } from './cli/args.js';

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

// Each command's code is loaded when it runs: a `report tls` or a `queue list` does not
// pay for loading the SMTP server and client, which took half a second of every start.
const commands: Record<string, Command> = {
  start: async (args, io) => {
    const { startCommand } = await import('./cli/start.js');
    // a stopped relay exits even if a delivery that outlived the grace period still holds a socket
    process.exit(await startCommand(parseCommandArgs(args, {}).configFile, io.stderr));
  },
  'check-config': async (args, io) => (await import('./cli/checkConfig.js')).checkConfigCommand(parseCommandArgs(args, {}).configFile, io.stdout, io.stderr),
  config: async (args, io) => (await import('./cli/config.js')).configCommand(args, io),
  'hash-password': async (args, io) => (await import('./cli/hashPassword.js')).hashPasswordCommand(parseCommandArgs(args, {}).positionals, io),
  policy: async (args, io) => (await import('./cli/policyExplain.js')).policyCommand(args, io),
  queue: async (args, io) => (await import('./cli/queue.js')).queueCommand(args, io),
  report: async (args, io) => (await import('./cli/report.js')).reportCommand(args, io),
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

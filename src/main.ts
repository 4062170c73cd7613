#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { checkConfigCommand } from './cli/checkConfig.js';
import { startCommand } from './cli/start.js';

const USAGE = `usage: tlsrelay <command> [-c FILE]

commands:
  start          run the relay
  check-config   validate the config file (exit 0 valid, 2 invalid)

options:
  -c, --config FILE   config file (default config/tlsrelay.yaml)
`;

const EXIT_USAGE = 64;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c', default: 'config/tlsrelay.yaml' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  const file = values.config ?? 'config/tlsrelay.yaml';
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (positionals.join(' ')) {
    case 'start':
      return startCommand(file, process.stderr);
    case 'check-config':
      return checkConfigCommand(file, process.stdout, process.stderr);
    default:
      process.stderr.write(USAGE);
      return EXIT_USAGE;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`tlsrelay: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);

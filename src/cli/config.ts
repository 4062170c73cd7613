import { readFileSync } from 'node:fs';
import { Document, isScalar, parse, visit } from 'yaml';
import { configSchemaText } from '../config/schema.js';
import { effectiveConfig } from '../config/show.js';
import { parseCommandArgs, UsageError, type CommandIo } from './args.js';
import { EXIT_INVALID_CONFIG, loadConfigOrReport } from './loadConfigFile.js';

const OPTIONS = {
  json: { type: 'boolean' },
  // postconf -n: only what the file sets
  'non-default': { type: 'boolean', short: 'n' },
} as const;

type Subcommand = { name: 'schema' } | { name: 'show'; json: boolean; onlySet: boolean };

function parseSubcommand(positionals: string[], values: { json?: boolean; 'non-default'?: boolean }): Subcommand {
  const [name, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (name === 'show') return { name, json: values.json === true, onlySet: values['non-default'] === true };
  if (name === 'schema') {
    if (values.json !== undefined || values['non-default'] !== undefined) throw new UsageError('schema takes no options: it is JSON already');
    return { name };
  }
  throw new UsageError(name === undefined ? 'missing subcommand: schema or show' : `unknown subcommand "${name}"`);
}

/** YAML for a person: lists of plain values on one line, as the shipped configs write them. */
function asYaml(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Seq(_, node) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  return doc.toString({ flowCollectionPadding: false, lineWidth: 0 });
}

/**
 * `tlsrelay config schema`: the JSON Schema of the config file. `tlsrelay config show`:
 * the config after defaults, every key (`-n`: only those the file sets), as YAML or `--json`.
 */
export async function configCommand(args: string[], io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  const { positionals, values, configOption } = parseCommandArgs(args, OPTIONS);
  const subcommand = parseSubcommand(positionals, values);
  if (subcommand.name === 'schema') {
    io.stdout.write(configSchemaText());
    return 0;
  }
  const loaded = await loadConfigOrReport(configOption, io.stderr);
  if (!loaded) return EXIT_INVALID_CONFIG;
  const { config } = loaded;
  // loaded just now, so it parses; what it sets, not how it is read, is all -n needs
  const written: unknown = subcommand.onlySet ? parse(readFileSync(config.file, 'utf8')) ?? null : undefined;
  const shown = effectiveConfig(config, written);
  io.stdout.write(subcommand.json ? `${JSON.stringify(shown, null, 2)}\n` : asYaml(shown));
  return 0;
}

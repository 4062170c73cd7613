import type { Written } from './key-types.js';
import type { Keys } from './key-spec.js';
import { CONFIG_KEYS } from './keys.js';
import type { Config } from './types.js';

// `tlsrelay config show`: the loaded config written back as a config file would write it,
// key by key from the table. A key left out shows its default; a key with no value at
// all (no certificate, no condition) shows null, which the loader reads as left out.
// Keys that do not apply (tlsNames under tls: opportunistic, mtaSts beside smartHosts) are not shown.

type Values = Readonly<Record<string, unknown>>;

function isSet(written: unknown, name: string): boolean {
  const value = (written as Record<string, unknown> | null | undefined)?.[name];
  return value !== undefined && value !== null;
}

function mapping(keys: Keys, values: Values, written: unknown, onlySet: boolean): Record<string, Written> {
  const shown: Record<string, Written> = {};
  for (const [name, node] of Object.entries(keys)) {
    if (onlySet && !isSet(written, name)) continue;
    const value = values[name];
    const writtenHere = (written as Record<string, unknown> | undefined)?.[name];
    if (node.node === 'value') {
      if (node.onlyWith && values[node.onlyWith.key] !== node.onlyWith.value) continue;
      if (node.notWith && (values[node.notWith] as unknown[]).length > 0) continue;
      shown[name] = value === undefined ? null : node.type.write(value);
    } else if (node.node === 'section') {
      // a section that is off when left out (admin) shows null, which loads as left out
      shown[name] = value === undefined ? null : mapping(node.keys, value as Values, writtenHere, onlySet);
    } else {
      shown[name] = (value as Values[]).map((item, index) => mapping(node.item, item, (writtenHere as unknown[] | undefined)?.[index], onlySet));
    }
  }
  return shown;
}

/**
 * Every key with its value after defaults, or with `written` (the file parsed to plain
 * data) only the keys the file sets, with the values as loaded (paths absolute, names normalised).
 */
export function effectiveConfig(config: Config, written?: unknown): Record<string, Written> {
  return mapping(CONFIG_KEYS, config as unknown as Values, written, written !== undefined);
}

import type { MapReader, ValueReader } from './reader.js';
import type { KeyType } from './key-types.js';
import type { Keys, ValueKey } from './key-spec.js';

// Reading values the way the key table describes them: with the key's type, and its
// default when the file leaves the key out.

type ValueNames<K extends Keys> = { [P in keyof K]: K[P] extends ValueKey<unknown> ? P : never }[keyof K] & string;

type TypeOf<N> = N extends { readonly type: KeyType<infer T> } ? T : never;

/** A key with a default value always has one; any other may be undefined (absent, required but missing, or bad). */
export type KeyValue<N> = N extends { readonly default: { readonly kind: 'value' } } ? TypeOf<N> : TypeOf<N> | undefined;

export type KeyValues<K extends Keys> = { -readonly [P in ValueNames<K>]: KeyValue<K[P]> };

/**
 * One key of `keys` from `map`. `reader` replaces the type's own where reading needs
 * more than the value (our certificate may be missing when it is to be generated).
 */
export function readKey<K extends Keys, P extends ValueNames<K>>(map: MapReader, keys: K, name: P, reader?: ValueReader<TypeOf<K[P]>>): KeyValue<K[P]> {
  const spec = keys[name] as ValueKey<unknown>;
  if (spec.default.kind === 'required') map.reportMissing(name);
  const value = map.read(name, reader ?? spec.type.read);
  // a copy: configs never share a default list
  const result = value === undefined && spec.default.kind === 'value' ? structuredClone(spec.default.value) : value;
  return result as KeyValue<K[P]>;
}

export type Readers<K extends Keys> = { [P in ValueNames<K>]?: ValueReader<TypeOf<K[P]>> };

/** Every value key of `keys` (sections and lists have readers of their own), with `readers` in place of some types' own. */
export function readKeys<K extends Keys>(map: MapReader, keys: K, readers: Readers<K> = {}): KeyValues<K> {
  const values: Record<string, unknown> = {};
  for (const [name, node] of Object.entries(keys)) {
    if (node.node === 'value') values[name] = readKey(map, keys, name as ValueNames<K>, readers[name as ValueNames<K>]);
  }
  return values as KeyValues<K>;
}

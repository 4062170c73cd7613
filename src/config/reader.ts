import { isAlias, isMap, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { Issues } from './issues.js';
import { closestKey } from './closest-key.js';

export interface ReadContext {
  readonly issues: Issues;
  readonly doc: Document;
  /** The config file's folder: relative paths resolve against it. */
  readonly dir: string;
}

/** A value being read and the dotted path that names it in messages (`outbound[1].tls`). */
export interface Field {
  readonly ctx: ReadContext;
  readonly label: string;
}

/** Reads one YAML node; on bad input reports why (via fail) and returns undefined. */
export type ValueReader<T> = (node: Node, field: Field) => T | undefined;

export function fail(field: Field, place: Node | undefined, message: string): undefined {
  field.ctx.issues.add(place, field.label ? `${field.label}: ${message}` : message);
  return undefined;
}

/** Valid, but weaker than it looks: said by check-config and logged by start, never refused. */
export function warn(field: Field, place: Node | undefined, message: string): void {
  field.ctx.issues.warn(place, field.label ? `${field.label}: ${message}` : message);
}

export function childField(field: Field, key: string | number): Field {
  const label = typeof key === 'number' ? `${field.label}[${key}]` : field.label ? `${field.label}.${key}` : key;
  return { ctx: field.ctx, label };
}

/** How a node looks in a message; never more than its kind for collections. */
export function describeNode(node: Node | null): string {
  if (node === null) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'nothing' : typeof node.value === 'string' ? JSON.stringify(node.value) : String(node.value);
  return 'an alias';
}

/**
 * The node an alias stands for. An unresolved one is almost always an unquoted domain
 * pattern: YAML reads `*.example.test` as a reference to an anchor named `.example.test`.
 */
export function resolveAlias(node: Node, field: Field): Node | undefined {
  if (!isAlias(node)) return node;
  const target = node.resolve(field.ctx.doc);
  if (target) return target;
  return fail(
    field,
    node,
    `*${node.source} is a YAML alias with no anchor; a value that starts with * must be quoted, e.g. "*.example.test"`,
  );
}

/** `key:`, `~`, `null`, or a document that is only `---`: no value at all. */
export function isNull(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

interface Entry {
  key: Node;
  /** Undefined when the key has no value (`key:`) — treated as if absent. */
  value: Node | undefined;
}

/**
 * A YAML mapping with a fixed set of keys. Unknown keys are reported on opening; reading a
 * key reports a bad value at its own position and remembers that it was bad, so that
 * checks across fields can stay quiet about values already reported.
 */
export class MapReader {
  private readonly invalidKeys = new Set<string>();

  private constructor(
    private readonly field: Field,
    /** The mapping, or where it would be when absent: the place for "missing" messages. */
    readonly place: Node | undefined,
    private readonly keys: readonly string[],
    private readonly entries: Map<string, Entry>,
  ) {}

  /** `node` undefined or empty (`key:`) reads as an empty mapping. `keys` come from the key table (keys.ts). */
  static open(field: Field, node: Node | undefined, keys: readonly string[], placeWhenAbsent: Node | undefined): MapReader {
    const entries = new Map<string, Entry>();
    if (node === undefined || isNull(node)) return new MapReader(field, placeWhenAbsent, keys, entries);
    if (!isMap(node)) {
      fail(field, node, `expected a mapping with keys ${keys.join(', ')}; got ${describeNode(node)}`);
      return new MapReader(field, node, keys, entries);
    }
    const reader = new MapReader(field, node, keys, entries);
    for (const pair of node.items) reader.addEntry(pair.key as Node | null, pair.value as Node | null);
    return reader;
  }

  private addEntry(keyNode: Node | null, valueNode: Node | null): void {
    const keys = this.keys;
    if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
      fail(this.field, keyNode ?? this.place, `keys must be plain words; got ${describeNode(keyNode)}`);
      return;
    }
    const key = keyNode.value;
    if (!keys.includes(key)) {
      const guess = closestKey(key, keys);
      const hint = guess ? `did you mean "${guess}"?` : `known keys: ${keys.join(', ')}`;
      fail(childField(this.field, key), keyNode, `unknown key (${hint})`);
      return;
    }
    const value = isNull(valueNode) ? undefined : resolveAlias(valueNode as Node, childField(this.field, key));
    if (!isNull(valueNode) && value === undefined) this.invalidKeys.add(key);
    this.entries.set(key, { key: keyNode, value });
  }

  fieldOf(key: string): Field {
    return childField(this.field, key);
  }

  has(key: string): boolean {
    return this.entries.get(key)?.value !== undefined;
  }

  isInvalid(key: string): boolean {
    return this.invalidKeys.has(key);
  }

  /** Where to point at a key's value; the mapping itself when the key is absent. */
  placeOf(key: string): Node | undefined {
    const entry = this.entries.get(key);
    return entry?.value ?? entry?.key ?? this.place;
  }

  /** `FILE:LINE:COL` of a key's value, for what is found out about it after loading. */
  whereOf(key: string): string {
    return this.field.ctx.issues.where(this.placeOf(key));
  }

  /** `{ [name]: FILE:LINE:COL }` of a key the file sets, `{}` of one it leaves out: for Config.places. */
  placesOf<N extends string>(key: string, name: N): Partial<Record<N, string>> {
    return (this.has(key) ? { [name]: this.whereOf(key) } : {}) as Partial<Record<N, string>>;
  }

  /**
   * `{ [name[i]]: FILE:LINE:COL }` of each item of a list the file sets, for Config.places:
   * a certificate or CRL found wanting after loading is pointed at by its own line.
   */
  itemPlacesOf<N extends string>(key: string, name: N): Partial<Record<`${N}[${number}]`, string>> {
    const list = this.entries.get(key)?.value;
    if (!isSeq(list)) return {};
    return Object.fromEntries(list.items.map((item, index) => [`${name}[${index}]`, this.field.ctx.issues.where(item as Node)])) as Partial<Record<`${N}[${number}]`, string>>;
  }

  /** Where to point at a key that is not allowed in this combination. */
  keyPlaceOf(key: string): Node | undefined {
    return this.entries.get(key)?.key ?? this.place;
  }

  /**
   * A key the loader reads must be one the file may set: one missing from the key table
   * would be refused as unknown in every file, so reading it is a bug, found at once.
   */
  private known(key: string): void {
    if (!this.keys.includes(key)) throw new Error(`${this.fieldOf(key).label} is read but is not in its key list (src/config/keys.ts)`);
  }

  /** The value, or undefined when the key is absent or its value bad (reported). */
  read<T>(key: string, reader: ValueReader<T>): T | undefined {
    this.known(key);
    const value = this.entries.get(key)?.value;
    if (value === undefined) return undefined;
    const result = reader(value, this.fieldOf(key));
    if (result === undefined) this.invalidKeys.add(key);
    return result;
  }

  optional<T>(key: string, reader: ValueReader<T>, fallback: T): T {
    return this.read(key, reader) ?? fallback;
  }

  /** Reports a required key that is absent or has no value; a bad value is reported when read. */
  reportMissing(key: string): void {
    if (this.has(key) || this.isInvalid(key)) return;
    const entry = this.entries.get(key);
    fail(this.fieldOf(key), entry?.key ?? this.place, entry ? 'needs a value' : 'missing; this key is required');
  }

  /** A nested mapping; an absent one reads as empty and points at this mapping. */
  section(key: string, keys: readonly string[]): MapReader {
    this.known(key);
    const value = this.entries.get(key)?.value;
    if (value !== undefined && !isMap(value)) this.invalidKeys.add(key);
    return MapReader.open(this.fieldOf(key), value, keys, this.placeOf(key));
  }
}

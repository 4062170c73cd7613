import type { KeyType } from './key-types.js';

// The shape of the key table (keys.ts): a tree that mirrors the YAML — values, sections
// (mappings) and lists of sections — each with what it means and what it is when left out.

/** What a key is when the config leaves it out (or leaves it empty: `key:`). */
export type Default<T> =
  | { readonly kind: 'value'; readonly value: T }
  /** Worked out when the config is read (the OS host name, queue.maxAge); `text` says from what. */
  | { readonly kind: 'derived'; readonly text: string }
  /** Left out stays out; `text` says what that means (no certificate, no condition). */
  | { readonly kind: 'none'; readonly text: string }
  | { readonly kind: 'required' };

export const fixed = <T>(value: T) => ({ kind: 'value', value }) as const;
export const derived = (text: string) => ({ kind: 'derived', text }) as const;
export const none = (text: string) => ({ kind: 'none', text }) as const;
export const REQUIRED = { kind: 'required' } as const;

/** A key that applies only when a sibling key has one value; anywhere else setting it is an error. */
export interface OnlyWith {
  readonly key: string;
  readonly value: string;
  /** Where it applies it must also be given (fingerprints with tls: fingerprint): what it holds, for the message. */
  readonly needed?: string;
}

export interface ValueKey<T> {
  readonly node: 'value';
  readonly type: KeyType<T>;
  readonly default: Default<T>;
  /** Markdown, for the reference and the schema's descriptions. */
  readonly meaning: string;
  readonly onlyWith?: OnlyWith;
  /** A sibling list that, when not empty, makes this key meaningless (mtaSts beside smartHosts): setting it there is an error. */
  readonly notWith?: string;
  /** YAML that sets this key, for a key of the top level: the reference shows it, a test loads it. */
  readonly example?: string;
}

/** A second way to write a section, with keys that cannot stand beside some of its example's (tls.certificates beside tls.cert). */
export interface AlternativeExample {
  /** Markdown, said before the example in the reference. */
  readonly intro: string;
  readonly example: string;
}

export interface SectionKey<K extends Keys = Keys> {
  readonly node: 'section';
  readonly keys: K;
  readonly meaning: string;
  readonly example?: string;
  readonly alternative?: AlternativeExample;
}

export interface ListKey<K extends Keys = Keys> {
  readonly node: 'list';
  /** The keys of each item (a mapping). */
  readonly item: K;
  readonly nonEmpty: boolean;
  /** `[]`, or what the relay puts there instead. */
  readonly default: { readonly kind: 'value'; readonly value: readonly [] } | { readonly kind: 'derived'; readonly text: string };
  readonly meaning: string;
  readonly example?: string;
}

export type KeyNode = ValueKey<unknown> | SectionKey | ListKey;

export interface Keys {
  readonly [name: string]: KeyNode;
}

/** The values a KeyType reads. */
export type TypeOf<Ty> = Ty extends KeyType<infer T> ? T : never;

export function value<Ty extends KeyType<unknown>, D extends Default<TypeOf<Ty>>>(spec: {
  type: Ty;
  default: D;
  meaning: string;
  onlyWith?: OnlyWith;
  notWith?: string;
  example?: string;
}): ValueKey<TypeOf<Ty>> & { readonly type: Ty; readonly default: D } {
  return { node: 'value', ...spec } as ValueKey<TypeOf<Ty>> & { readonly type: Ty; readonly default: D };
}

export function section<K extends Keys>(spec: { keys: K; meaning: string; example?: string; alternative?: AlternativeExample }): SectionKey<K> {
  return { node: 'section', ...spec };
}

export function list<K extends Keys>(spec: Omit<ListKey<K>, 'node'>): ListKey<K> {
  return { node: 'list', ...spec };
}

/** The key names of a mapping: what its MapReader accepts. */
export function keyNames(keys: Keys): string[] {
  return Object.keys(keys);
}

/** `keys` without `names`: for a reader that reads those first, on its own. */
export function except<K extends Keys, P extends keyof K & string>(keys: K, ...names: P[]): Omit<K, P> {
  return Object.fromEntries(Object.entries(keys).filter(([name]) => !names.includes(name as P))) as Omit<K, P>;
}

/** The keys of a mapping that apply only with one value of a sibling. */
export function onlyWithRules(keys: Keys): Array<{ key: string; onlyWith: OnlyWith }> {
  return Object.entries(keys).flatMap(([key, node]) => (node.node === 'value' && node.onlyWith ? [{ key, onlyWith: node.onlyWith }] : []));
}

/** Every key of the tree with its path as the reference writes it (`outbound[].tls`), parents before children. */
export function keyPaths(keys: Keys, prefix = ''): Array<{ path: string; node: KeyNode }> {
  return Object.entries(keys).flatMap(([name, node]) => {
    const path = `${prefix}${name}`;
    const own = { path, node };
    if (node.node === 'section') return [own, ...keyPaths(node.keys, `${path}.`)];
    if (node.node === 'list') return [own, ...keyPaths(node.item, `${path}[].`)];
    return [own];
  });
}

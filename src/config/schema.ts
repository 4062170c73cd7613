import type { JsonSchema } from './key-types.js';
import type { Keys, KeyNode, OnlyWith, ValueKey } from './key-spec.js';
import { CONFIG_KEYS } from './keys.js';

// The JSON Schema of the config file, made from the key table, for editors with the YAML
// language server (`# yaml-language-server: $schema=…`). Draft-07: what that server
// supports fully, with its patternErrorMessage. Every key may be left empty (`key:`), as the loader reads that as
// left out — except the required ones. Checks across keys are the loader's, except the
// keys that apply with one TLS level only.

const NULL = { type: 'null' } as const;

/** The same schema, but `key:` with no value passes too. */
function orNull(schema: JsonSchema): JsonSchema {
  const { type, enum: choices } = schema;
  return {
    ...schema,
    ...(type === undefined ? {} : { type: [type, 'null'].flat() }),
    ...(Array.isArray(choices) ? { enum: [...choices, null] } : {}),
  };
}

function valueSchema(node: ValueKey<unknown>): JsonSchema {
  const schema = {
    description: node.meaning,
    ...node.type.schema,
    ...(node.default.kind === 'value' ? { default: node.type.write(node.default.value) } : {}),
  };
  return node.default.kind === 'required' ? schema : orNull(schema);
}

/** "The sibling has the value the key applies with", counting the sibling's default when it is left out. */
function appliesWith(keys: Keys, rule: OnlyWith): JsonSchema {
  const sibling = keys[rule.key];
  const isDefault = sibling?.node === 'value' && sibling.default.kind === 'value' && sibling.default.value === rule.value;
  const given = { required: [rule.key], properties: { [rule.key]: { const: rule.value } } };
  return isDefault ? { anyOf: [{ not: { required: [rule.key] } }, { properties: { [rule.key]: { enum: [rule.value, null] } } }] } : given;
}

function onlyWithSchema(keys: Keys, name: string, rule: OnlyWith): JsonSchema {
  const needed = { required: [name], properties: { [name]: { not: NULL } } };
  return { if: appliesWith(keys, rule), ...(rule.needed === undefined ? {} : { then: needed }), else: { properties: { [name]: NULL } } };
}

function mappingSchema(keys: Keys): JsonSchema {
  const entries = Object.entries(keys);
  const required = entries.filter(([, node]) => node.node === 'value' && node.default.kind === 'required').map(([name]) => name);
  const rules = entries.flatMap(([name, node]) => (node.node === 'value' && node.onlyWith ? [onlyWithSchema(keys, name, node.onlyWith)] : []));
  return {
    type: 'object',
    properties: Object.fromEntries(entries.map(([name, node]) => [name, nodeSchema(node)])),
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: false,
    ...(rules.length > 0 ? { allOf: rules } : {}),
  };
}

function nodeSchema(node: KeyNode): JsonSchema {
  if (node.node === 'value') return valueSchema(node);
  if (node.node === 'section') return { description: node.meaning, ...orNull(mappingSchema(node.keys)) };
  const item = mappingSchema(node.item);
  // an empty item reads as a mapping with nothing set: fine unless a key is required
  const itemSchema = 'required' in item ? item : orNull(item);
  return { description: node.meaning, ...orNull({ type: 'array', items: itemSchema, ...(node.nonEmpty ? { minItems: 1 } : {}) }) };
}

export function configSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'tlsrelay configuration',
    description: 'The config file of tlsrelay. Reference: docs/configuration.md; check a file with `tlsrelay check-config -c FILE`.',
    ...mappingSchema(CONFIG_KEYS),
  };
}

/** As `tlsrelay config schema` prints it and config/tlsrelay.schema.json holds it. */
export function configSchemaText(): string {
  return `${JSON.stringify(configSchema(), null, 2)}\n`;
}

import type { Written } from './key-types.js';
import { keyPaths, type KeyNode, type Keys } from './key-spec.js';
import { CONFIG_KEYS } from './keys.js';

// docs/configuration.md, made from the key table by `npm run docs`.

/** A default or an example value as YAML writes it in flow style. */
export function flowYaml(value: Written): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(flowYaml).join(', ')}]`;
  if (typeof value === 'object') return `{ ${Object.entries(value).map(([key, item]) => `${key}: ${flowYaml(item)}`).join(', ')} }`;
  return String(value);
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function typeOf(node: KeyNode): string {
  if (node.node === 'value') return node.type.name;
  if (node.node === 'section') return 'mapping';
  return `list of mappings${node.nonEmpty ? ', not empty' : ''}`;
}

function defaultOf(node: KeyNode): string {
  if (node.node === 'section') return '';
  const value = node.default;
  if (value.kind === 'required') return '*required*';
  if (value.kind === 'value') return `\`${flowYaml(node.node === 'value' ? node.type.write(value.value) : [])}\``;
  return value.text;
}

function meaningOf(node: KeyNode): string {
  if (node.node !== 'value' || !node.onlyWith) return node.meaning;
  const { key, value, needed } = node.onlyWith;
  return `${node.meaning} Only with \`${key}: ${value}\`${needed === undefined ? '' : ', and needed there'}.`;
}

function keyTable(name: string, node: KeyNode): string[] {
  const rows =
    node.node === 'section'
      ? keyPaths(node.keys, `${name}.`)
      : [{ path: name, node }, ...(node.node === 'list' ? keyPaths(node.item, `${name}[].`) : [])];
  return [
    '| Key | Type | Default | Meaning |',
    '|---|---|---|---|',
    ...rows.map(({ path, node: row }) => `| \`${path}\` | ${cell(typeOf(row))} | ${cell(defaultOf(row))} | ${cell(meaningOf(row))} |`),
  ];
}

function sectionText(name: string, node: KeyNode): string[] {
  // a section has no row of its own to say what it is for
  const about = node.node === 'section' ? [node.meaning, ''] : [];
  const yaml = (example: string): string[] => ['', '```yaml', example, '```'];
  const alternative = node.node === 'section' && node.alternative ? ['', node.alternative.intro, ...yaml(node.alternative.example)] : [];
  return ['', `## \`${name}\``, '', ...about, ...keyTable(name, node), ...(node.example ? yaml(node.example) : []), ...alternative];
}

/** Every term the types use, alphabetically. */
function terms(keys: Keys): Array<[string, string]> {
  const found = new Map<string, string>();
  for (const { node } of keyPaths(keys)) {
    if (node.node === 'value') for (const [term, text] of Object.entries(node.type.terms)) found.set(term, text);
  }
  return [...found].sort(([a], [b]) => a.toLowerCase().localeCompare(b.toLowerCase()));
}

const INTRODUCTION = `# Configuration reference

<!-- Made by \`npm run docs\` from src/config/keys.ts: change that file and run it, do not edit this one. -->

tlsrelay reads one YAML file, named with \`-c FILE\`. This page lists every key it knows,
with its type, its default and what it does.

- A key left out, or left empty (\`key:\`), takes its default. A key the relay does not
  know is an error, and so is a value of the wrong type: \`tlsrelay check-config -c FILE\`
  lists every problem as \`FILE:LINE:COL: what is wrong\` and exits 2; \`start\` does the
  same before it listens.
- Relative paths are relative to the folder of the config file.
- Domains match case-insensitively, a trailing dot ignored, Unicode and punycode forms
  equal; the most specific pattern wins (\`a.b.test\` over \`"*.b.test"\` over \`"*"\`).
- \`tlsrelay config show -c FILE\` prints every key with the value it has after the
  defaults (\`-n\`: only the keys the file sets; \`--json\`: as JSON). Password hashes are
  printed as \`[redacted]\`; certificate and key files are named, never read out.
- SIGHUP reloads the file: new sessions and deliveries use it, open sessions keep the
  snapshot they started with, and an invalid file is refused while the running
  configuration keeps serving. Listeners, \`queue.dir\` and \`queue.store\` change only with a restart.

The shipped configs show the keys at work: \`config/tlsrelay.yaml\` (the default, used by
\`npm start\`), \`config/examples/exchange-smarthost.yaml\` (the relay as smart host in front
of Exchange) and \`config/examples/partner-forced-tls.yaml\` (a partner with forced,
verified TLS both ways).

**Editors.** \`tlsrelay config schema\` prints a JSON Schema of the file, and
\`config/tlsrelay.schema.json\` is a copy. With the YAML language server (the YAML
extension of VS Code, and editors that use the same server) a first line

\`\`\`yaml
# yaml-language-server: $schema=tlsrelay.schema.json
\`\`\`

(the path relative to the config file, or a URL) completes keys, shows what they mean
and marks unknown keys and bad values as you type. The schema checks each value; what
depends on other keys (a TLS listener needs \`tls.cert\`, \`relay: true\` needs something a
client cannot forge, files must exist, OpenSSL must accept a cipher list) is checked by
\`check-config\`.`;

export function referencePage(): string {
  const names = Object.keys(CONFIG_KEYS);
  const contents = names.map((name) => `[\`${name}\`](#${name.toLowerCase()})`).join(' · ');
  const typeRows = terms(CONFIG_KEYS).map(([term, text]) => `| ${cell(term)} | ${cell(text)} |`);
  return [
    INTRODUCTION,
    '',
    '## Keys',
    '',
    contents,
    '',
    'How each type is written: [Types](#types).',
    ...Object.entries(CONFIG_KEYS).flatMap(([name, node]) => sectionText(name, node)),
    '',
    '## Types',
    '',
    '| Type | How it is written |',
    '|---|---|',
    ...typeRows,
    '',
  ].join('\n');
}

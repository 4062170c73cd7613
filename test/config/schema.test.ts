// The JSON Schema (what an editor checks as you type) against the loader (what start and
// check-config decide): the shipped configs pass both; on a set of files — good ones and
// files with one thing wrong — both say the same; and the checks only the loader makes
// are listed here, each with why a schema cannot make it.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { configSchema, configSchemaText } from '../../src/config/schema.js';
import { issuesOf, TLS_LINE } from './helpers.js';
import { PROJECT_ROOT } from '../helpers/relayProcess.js';

// patternErrorMessage is the YAML language server's: declared, so strict mode knows it
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, keywords: ['patternErrorMessage'] });
const validate = ajv.compile(configSchema());

function schemaErrors(yaml: string): string[] {
  return validate(parse(yaml)) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ''}`);
}

const SCHEMA_FILE = join(PROJECT_ROOT, 'config', 'tlsrelay.schema.json');
const SHIPPED = [join(PROJECT_ROOT, 'config', 'tlsrelay.yaml'), join(PROJECT_ROOT, 'config', 'container.yaml'), ...readdirSync(join(PROJECT_ROOT, 'config', 'examples')).map((name) => join(PROJECT_ROOT, 'config', 'examples', name))];

t.test('config/tlsrelay.schema.json is the schema the table makes (npm run docs writes it)', async (t) => {
  t.equal(readFileSync(SCHEMA_FILE, 'utf8'), configSchemaText());
});

t.test('the schema is valid draft-07, compiled by ajv in strict mode', async (t) => {
  t.equal(configSchema().$schema, 'http://json-schema.org/draft-07/schema#');
  t.ok(ajv.validateSchema(configSchema()), JSON.stringify(ajv.errors));
});

for (const file of SHIPPED) {
  t.test(`${file.slice(PROJECT_ROOT.length + 1)}: names the shipped schema on its first line and passes it`, async (t) => {
    const source = readFileSync(file, 'utf8');
    const [first = ''] = source.split('\n');
    const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
    t.ok(match, `first line: ${first}`);
    t.equal(resolve(dirname(file), match?.[1] ?? ''), SCHEMA_FILE, 'the path leads to config/tlsrelay.schema.json');
    t.same(schemaErrors(source), []);
  });
}

const HASH = '$scrypt$ln=10,r=8,p=1$AQEBAQEBAQEBAQEBAQEBAQ$AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI';
const PIN = `sha256:${'ab'.repeat(32)}`;
const outbound = (fields: string) => [TLS_LINE, `outbound: [{ name: p, domains: [p.test]${fields} }]`];

/** Files in which loader and schema must agree: true = both accept, false = both refuse. */
const agreed: Array<{ name: string; yaml: string[]; valid: boolean }> = [
  // good files, including the forms that look odd
  { name: 'the smallest config', yaml: [TLS_LINE], valid: true },
  {
    name: 'several certificates, one named by a connector',
    yaml: ['tls: { certificates: [{ name: rsa, cert: c.pem, key: k.pem }, { cert: c.pem, key: k.pem }] }', 'outbound: [{ name: p, domains: [p.test], clientCertificate: rsa }]'],
    valid: true,
  },
  { name: 'keys left empty take their defaults', yaml: [TLS_LINE, 'server:', '  hostname:', 'queue:', '  retry:', 'listeners:', 'log: { level: ~ }'], valid: true },
  {
    name: 'every value form at its edge',
    yaml: [
      TLS_LINE,
      'listeners: [{ name: a, address: "::", port: 0 }, { name: b, address: "fe80::1%lo", port: 65535, tls: implicit, auth: required }]',
      'dns: { servers: [192.0.2.53, "[2001:db8::53]:5353", "::1"] }',
      'queue: { dir: spool, retry: [007s, 24d], maxAge: 104249991d, delayNotice: 1m }',
      'smtp: { idleTimeout: 596h, handshakeTimeout: 2147483s, maxMessageSize: 9007199254740991 }',
      'acceptedDomains: [Contoso.TEST., bücher.test, "*.contoso.test", _dmarc.contoso.test]',
      'inbound: [{ name: x, match: { ips: [10.0.0.0/8, "::/0", 192.0.2.1], senderDomains: ["*"] } }]',
      `outbound: [{ name: p, domains: ["*"], smartHosts: [mx.p.test, "mx.p.test:2626", "[::1]:2626", "::1", 192.0.2.25], tls: fingerprint, fingerprints: ["SHA256:${'AB:'.repeat(31)}AB"] }]`,
    ],
    valid: true,
  },
  { name: 'a hex port is a number to YAML', yaml: [TLS_LINE, 'listeners: [{ name: a, port: 0x19 }]'], valid: true },
  { name: 'plaintextFallback with tls left out (opportunistic)', yaml: outbound(', plaintextFallback: false'), valid: true },
  { name: 'tlsNames with tls: verify, and left empty elsewhere', yaml: [TLS_LINE, 'outbound: [{ name: p, domains: [p.test], tls: verify, tlsNames: [mx.p.test] }, { name: q, domains: [q.test], tlsNames: }]'], valid: true },
  { name: 'a user with a hash', yaml: [TLS_LINE, `auth: { users: [{ name: u, passwordHash: "${HASH}" }] }`], valid: true },

  // unknown keys
  { name: 'an unknown top-level key', yaml: [TLS_LINE, 'listner: []'], valid: false },
  { name: 'an unknown key in a section', yaml: [TLS_LINE, 'queue: { spool: x }'], valid: false },
  { name: 'an unknown key in a list item', yaml: outbound(', smarthosts: [mx.p.test]'), valid: false },
  { name: 'an unknown key in a nested section', yaml: [TLS_LINE, 'inbound: [{ name: a, match: { ip: [10.0.0.1] } }]'], valid: false },
  { name: 'a key that is not a word', yaml: [TLS_LINE, '25: smtp'], valid: false },

  // wrong types
  { name: 'a port in quotes', yaml: [TLS_LINE, 'listeners: [{ name: a, port: "25" }]'], valid: false },
  { name: 'yes for a boolean', yaml: ['tls: { cert: c.pem, key: k.pem, generateIfMissing: yes }'], valid: false },
  { name: '"true" for a boolean', yaml: [TLS_LINE, 'inbound: [{ name: a, match: { ips: [10.0.0.1] }, relay: "true" }]'], valid: false },
  { name: 'a mapping for a list', yaml: [TLS_LINE, 'listeners: { name: a, port: 25 }'], valid: false },
  { name: 'a word for a list', yaml: [TLS_LINE, 'acceptedDomains: contoso.test'], valid: false },
  { name: 'a number for a section', yaml: [TLS_LINE, 'queue: 5'], valid: false },
  { name: 'a number for text', yaml: [TLS_LINE, 'listeners: [{ name: 587, port: 587 }]'], valid: false },
  { name: 'blank text', yaml: [TLS_LINE, 'listeners: [{ name: " ", port: 25 }]'], valid: false },
  { name: 'a list item that is empty', yaml: [TLS_LINE, 'outbound: [~]'], valid: false },

  // enumerations
  { name: 'a TLS level', yaml: outbound(', tls: verfy'), valid: false },
  { name: 'a listener tls mode in capitals', yaml: [TLS_LINE, 'listeners: [{ name: a, port: 25, tls: STARTTLS }]'], valid: false },
  { name: 'a listener auth mode', yaml: [TLS_LINE, 'listeners: [{ name: a, port: 25, auth: yes }]'], valid: false },
  { name: 'a TLS version', yaml: ['tls: { cert: c.pem, key: k.pem, minVersion: TLSv1.1 }'], valid: false },
  { name: 'a log level', yaml: [TLS_LINE, 'log: { level: verbose }'], valid: false },
  { name: 'bareLineEndings', yaml: [TLS_LINE, 'smtp: { bareLineEndings: fix }'], valid: false },

  // durations
  { name: 'a duration in words', yaml: [TLS_LINE, 'queue: { maxAge: 2 days }'], valid: false },
  { name: 'a fractional duration', yaml: [TLS_LINE, 'queue: { maxAge: 1.5h }'], valid: false },
  { name: 'a duration without a unit', yaml: [TLS_LINE, 'queue: { delayNotice: 90 }'], valid: false },
  { name: 'a zero duration', yaml: [TLS_LINE, 'queue: { retry: [1m, 00s] }'], valid: false },
  { name: 'a timer over 24 days', yaml: [TLS_LINE, 'smtp: { idleTimeout: 25d }'], valid: false },
  { name: 'a timer over 24 days, in hours', yaml: [TLS_LINE, 'queue: { retry: [597h] }'], valid: false },
  { name: 'a duration past the safe integers', yaml: [TLS_LINE, 'queue: { maxAge: 104249992d }'], valid: false },
  { name: 'an empty retry schedule', yaml: [TLS_LINE, 'queue: { retry: [] }'], valid: false },

  // integers and ports
  { name: 'a port over 65535', yaml: [TLS_LINE, 'listeners: [{ name: a, port: 65536 }]'], valid: false },
  { name: 'a negative port', yaml: [TLS_LINE, 'listeners: [{ name: a, port: -1 }]'], valid: false },
  { name: 'delivery port 0', yaml: [TLS_LINE, 'delivery: { port: 0 }'], valid: false },
  { name: 'zero connections', yaml: [TLS_LINE, 'delivery: { concurrency: 0 }'], valid: false },
  { name: 'a fractional count', yaml: [TLS_LINE, 'smtp: { maxRecipients: 1.5 }'], valid: false },
  { name: 'a smart host port over 65535', yaml: outbound(', smartHosts: ["mx.p.test:99999"]'), valid: false },
  { name: 'a smart host port of six digits', yaml: outbound(', smartHosts: ["mx.p.test:000025"]'), valid: false },
  { name: 'a DNS server port 0', yaml: [TLS_LINE, 'dns: { servers: ["192.0.2.1:0"] }'], valid: false },

  // addresses and names
  { name: 'a name for a listener address', yaml: [TLS_LINE, 'listeners: [{ name: a, address: localhost, port: 25 }]'], valid: false },
  { name: 'a prefix over 32', yaml: [TLS_LINE, 'inbound: [{ name: a, match: { ips: [10.0.0.0/33] } }]'], valid: false },
  { name: 'an IPv4 part over 255', yaml: [TLS_LINE, 'inbound: [{ name: a, match: { ips: [300.1.1.1] } }]'], valid: false },
  { name: 'a zone in a range', yaml: [TLS_LINE, 'inbound: [{ name: a, match: { ips: ["fe80::1%eth0"] } }]'], valid: false },
  { name: 'an empty range list', yaml: [TLS_LINE, 'inbound: [{ name: a, require: { ips: [] } }]'], valid: false },
  { name: 'a host name with a space', yaml: [TLS_LINE, 'server: { hostname: "relay example" }'], valid: false },
  { name: 'an IP address for a host name', yaml: [TLS_LINE, 'server: { hostname: 192.0.2.1 }'], valid: false },
  { name: 'a host name that ends in a number', yaml: [TLS_LINE, 'server: { hostname: relay.9 }'], valid: false },
  { name: 'a label of 64 characters', yaml: [TLS_LINE, `server: { hostname: ${'a'.repeat(64)}.test }`], valid: false },
  { name: 'a domain pattern with two stars', yaml: [TLS_LINE, 'acceptedDomains: ["*.*.test"]'], valid: false },
  { name: '"*" where it would be an open relay', yaml: [TLS_LINE, 'acceptedDomains: ["*"]'], valid: false },
  { name: 'a path in a domain', yaml: [TLS_LINE, 'acceptedDomains: [contoso.test/x]'], valid: false },
  { name: 'a DNS server by name', yaml: [TLS_LINE, 'dns: { servers: [ns.example.test] }'], valid: false },
  { name: 'a name in brackets', yaml: outbound(', smartHosts: ["[mx.p.test]:25"]'), valid: false },
  { name: 'a short fingerprint', yaml: outbound(', tls: fingerprint, fingerprints: ["sha256:abcd"]'), valid: false },
  { name: 'a SHA-1 fingerprint', yaml: outbound(`, tls: fingerprint, fingerprints: ["sha1:${'ab'.repeat(20)}"]`), valid: false },
  { name: 'a password for a hash', yaml: [TLS_LINE, 'auth: { users: [{ name: u, passwordHash: hunter2 }] }'], valid: false },

  // several certificates
  { name: 'a pair of tls.certificates without its key', yaml: ['tls: { certificates: [{ cert: c.pem }] }'], valid: false },
  { name: 'a pair of tls.certificates with an unknown key', yaml: ['tls: { certificates: [{ cert: c.pem, key: k.pem, chain: c.pem }] }'], valid: false },
  { name: 'clientCertificate as a number', yaml: [TLS_LINE, 'outbound: [{ name: p, domains: [p.test], clientCertificate: 1 }]'], valid: false },

  // required keys
  { name: 'a listener without a port', yaml: [TLS_LINE, 'listeners: [{ name: a }]'], valid: false },
  { name: 'a listener name with no value', yaml: [TLS_LINE, 'listeners: [{ name: ~, port: 25 }]'], valid: false },
  { name: 'an outbound connector without domains', yaml: [TLS_LINE, 'outbound: [{ name: p }]'], valid: false },
  { name: 'an empty domain list', yaml: [TLS_LINE, 'outbound: [{ name: p, domains: [] }]'], valid: false },
  { name: 'a user without a hash', yaml: [TLS_LINE, 'auth: { users: [{ name: u }] }'], valid: false },
  { name: 'no listeners at all', yaml: [TLS_LINE, 'listeners: []'], valid: false },

  // keys of one TLS level (in the schema as if/then, made from the table's onlyWith)
  { name: 'tlsNames with tls: encrypt', yaml: outbound(', tls: encrypt, tlsNames: [mx.p.test]'), valid: false },
  { name: 'tlsNames, even empty, with tls left out', yaml: outbound(', tlsNames: []'), valid: false },
  { name: 'fingerprints with tls: verify', yaml: outbound(`, tls: verify, fingerprints: ["${PIN}"]`), valid: false },
  { name: 'tls: fingerprint without fingerprints', yaml: outbound(', tls: fingerprint'), valid: false },
  { name: 'tls: fingerprint with fingerprints left empty', yaml: outbound(', tls: fingerprint, fingerprints:'), valid: false },
  { name: 'plaintextFallback with tls: verify-ca', yaml: outbound(', tls: verify-ca, plaintextFallback: false'), valid: false },
];

for (const { name, yaml, valid } of agreed) {
  t.test(`${valid ? 'both accept' : 'both refuse'}: ${name}`, async (t) => {
    const loader = issuesOf(t, yaml);
    const schema = schemaErrors(yaml.join('\n'));
    t.equal(loader.length === 0, valid, `loader: ${JSON.stringify(loader)}`);
    t.equal(schema.length === 0, valid, `schema: ${JSON.stringify(schema)}`);
  });
}

/** What only the loader refuses: the schema passes these files, check-config does not. */
const loaderOnly: Array<{ name: string; why: string; yaml: string[] }> = [
  { name: 'tls.cert without tls.key', why: 'a rule across keys', yaml: ['tls: { cert: c.pem }'] },
  { name: 'generateIfMissing without the paths', why: 'a rule across keys', yaml: ['tls: { generateIfMissing: true }'] },
  { name: 'the default listener with no certificate', why: 'a rule across keys', yaml: ['log: { level: info }'] },
  { name: 'AUTH on a listener without TLS', why: 'a rule across keys', yaml: [TLS_LINE, 'listeners: [{ name: a, port: 25, tls: none, auth: optional }]'] },
  { name: 'client certificates without a TLS listener', why: 'a rule across keys', yaml: [TLS_LINE, 'listeners: [{ name: a, port: 25, tls: none }]', 'inbound: [{ name: a, match: { certificateNames: [x.test] } }]'] },
  { name: 'a client certificate without ours', why: 'a rule across keys', yaml: ['listeners: [{ name: a, port: 25, tls: none }]', 'outbound: [{ name: p, domains: [p.test], clientCertificate: true }]'] },
  { name: 'tls.certificates beside tls.cert', why: 'a rule across keys', yaml: ['tls: { cert: c.pem, key: k.pem, certificates: [{ cert: c.pem, key: k.pem }] }'] },
  { name: 'a clientCertificate name no pair has', why: 'a rule across keys', yaml: ['tls: { certificates: [{ name: a, cert: c.pem, key: k.pem }] }', 'outbound: [{ name: p, domains: [p.test], clientCertificate: b }]'] },
  { name: 'relaying on a sender domain alone', why: 'a rule across keys', yaml: [TLS_LINE, 'inbound: [{ name: a, match: { senderDomains: [x.test] }, relay: true }]'] },
  { name: 'two listeners with one name', why: 'uniqueness of a field across list items', yaml: [TLS_LINE, 'listeners: [{ name: a, port: 25 }, { name: a, port: 26 }]'] },
  { name: 'two listeners on one port', why: 'uniqueness across list items', yaml: [TLS_LINE, 'listeners: [{ name: a, port: 25 }, { name: b, port: 25 }]'] },
  { name: 'one domain in two connectors, spelled two ways', why: 'uniqueness after normalising', yaml: [TLS_LINE, 'outbound: [{ name: a, domains: [bücher.test] }, { name: b, domains: [XN--BCHER-KVA.test] }]'] },
  { name: 'a trust file that does not exist', why: 'the file system', yaml: ['tls: { cert: c.pem, key: k.pem, trust: [missing.pem] }'] },
  { name: 'a cipher list OpenSSL refuses', why: "OpenSSL's parser", yaml: ['tls: { cert: c.pem, key: k.pem, ciphers: "RC4-MD5:NOPE" }'] },
  { name: 'a password hash too weak to use', why: "scrypt's parameters and the salt's length", yaml: [TLS_LINE, 'auth: { users: [{ name: u, passwordHash: "$scrypt$ln=0,r=8,p=1$AQEB$AgICAgICAgICAgICAgICAg" }] }'] },
  { name: 'a punycode label that does not decode', why: 'IDNA', yaml: [TLS_LINE, 'acceptedDomains: [xn--zz.test]'] },
];

for (const { name, why, yaml } of loaderOnly) {
  t.test(`only the loader refuses (${why}): ${name}`, async (t) => {
    t.same(schemaErrors(yaml.join('\n')), [], 'the schema passes it');
    t.not(issuesOf(t, yaml).length, 0, 'the loader refuses it');
  });
}

// server.hostname's default and its warning: the pure decision (qualifiedHostname, as
// `hostname -f` decides), then what a loaded config says, at which place.
import t from 'tap';
import { qualifiedHostname, unqualifiedHostnameWarning } from '../../src/config/hostname.js';
import { loadConfig } from '../../src/config/load.js';
import { writeConfig, TLS_LINE } from './helpers.js';

t.test('the system name: the OS name with a domain, else the first name of its addresses that extends it', async (t) => {
  t.equal(qualifiedHostname('Relay.Example.TEST', ['other.test']), 'relay.example.test', 'a name with a domain already: as it is, lowercased');
  t.equal(qualifiedHostname('relay', ['relay.example.test']), 'relay.example.test', 'the name its address goes by');
  t.equal(qualifiedHostname('relay', ['localhost.localdomain', 'Relay.Example.Test.', 'relay.other.test']), 'relay.example.test', 'names of someone else skipped; the first that extends it, normalized');
  t.equal(qualifiedHostname('relay', ['relayhost.example.test']), 'relay', 'a name that only starts with the same letters is not its own');
  t.equal(qualifiedHostname('relay', []), 'relay', 'no addresses: the short name');
  t.equal(qualifiedHostname('', []), 'localhost', 'no usable name at all');
});

t.test('the warning: only for a name without a domain, worded for a name written and one taken from the system', async (t) => {
  t.equal(unqualifiedHostnameWarning('relay.example.test', true), undefined);
  t.equal(unqualifiedHostnameWarning('relay.example.test', false), undefined);
  t.match(unqualifiedHostnameWarning('relay', true), /^"relay" has no domain; many receivers refuse such a name in EHLO: set server\.hostname to the relay's fully qualified name/);
  t.match(unqualifiedHostnameWarning('vm', false), /^left out, and the system's name "vm" has no domain; .*set server\.hostname/);
});

t.test('a loaded config warns at server.hostname when it has no domain: at the key, else at its section or the file', async (t) => {
  const at = (lines: string[], systemName: string) => loadConfig(writeConfig(t, [TLS_LINE, ...lines]), systemName).warnings.map(({ line, col, message }) => `${line}:${col}: ${message}`);
  t.match(at(['server: { hostname: relay }'], 'relay.example.test'), [/^2:21: server\.hostname: "relay" has no domain;/], 'written: at its value, whatever the system is called');
  t.match(at(['server:', '  hostname: mx', 'queue: {}'], 'vm'), [/^3:13: server\.hostname: "mx" has no domain/]);
  t.match(at(['log: { level: info }', 'server: {}'], 'vm'), [/^3:9: server\.hostname: left out, and the system's name "vm" has no domain/], 'left out: at the server section');
  t.match(at([], 'vm'), [/^1:1: server\.hostname: left out, and the system's name "vm" has no domain/], 'no server section: the file');
  t.strictSame(at(['server: { hostname: relay.example.test }'], 'vm'), [], 'a name with a domain: no warning');
  t.strictSame(at([], 'vm.example.test'), [], 'nor a system name with one');
  t.equal(loadConfig(writeConfig(t, [TLS_LINE]), 'vm').server.hostname, 'vm', 'the name is still used: a warning, not an error');
});

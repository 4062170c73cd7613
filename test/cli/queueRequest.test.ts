// The argument checks of `tlsrelay queue`, before any config or spool is touched.
import t from 'tap';
import { UsageError } from '../../src/cli/args.js';
import { parseQueueRequest } from '../../src/cli/queueRequest.js';

const ID = '0190c2d9e3a1b2c3d4e5f6a7';

t.test('each subcommand with the options it takes', async (t) => {
  t.same(parseQueueRequest(['list'], {}), { action: 'list', domain: undefined, json: false });
  t.same(parseQueueRequest(['list'], { domain: 'Partner.TEST.', json: true }), { action: 'list', domain: 'partner.test', json: true }, 'the domain is normalised');
  t.same(parseQueueRequest(['list'], { domain: 'bücher.test' }), { action: 'list', domain: 'xn--bcher-kva.test', json: false }, 'as the envelope stores it');
  t.same(parseQueueRequest(['show', ID], { json: true }), { action: 'show', id: ID, json: true });
  t.same(parseQueueRequest(['show', ID.toUpperCase()], {}), { action: 'show', id: ID, json: false }, 'an ID in upper case is the same ID');
  t.same(parseQueueRequest(['retry', ID], {}), { action: 'retry', target: { kind: 'id', id: ID } });
  t.same(parseQueueRequest(['retry'], { all: true }), { action: 'retry', target: { kind: 'all' } });
  t.same(parseQueueRequest(['retry'], { domain: 'b.test' }), { action: 'retry', target: { kind: 'domain', domain: 'b.test' } });
  t.same(parseQueueRequest(['delete', ID], {}), { action: 'delete', id: ID, silent: false });
  t.same(parseQueueRequest(['delete', ID], { silent: true }), { action: 'delete', id: ID, silent: true });
  t.same(parseQueueRequest(['hold', ID], {}), { action: 'hold', id: ID });
  t.same(parseQueueRequest(['release', ID], {}), { action: 'release', id: ID });
});

t.test('usage errors say what is wrong', async (t) => {
  const cases: Array<[string[], Record<string, unknown>, RegExp]> = [
    [[], {}, /missing subcommand: list, show, retry, delete, hold, release/],
    [['flush'], {}, /unknown subcommand "flush"/],
    [['show'], {}, /queue show needs a queue ID/],
    [['show', 'abc'], {}, /"abc" is not a queue ID \(24 hex digits\)/],
    [['show', '../../etc/passwd0000000'], {}, /is not a queue ID/],
    [['hold', ID, ID], {}, /queue hold: unexpected argument/],
    [['list', ID], {}, /queue list: unexpected argument/],
    [['list'], { silent: true }, /queue list does not take --silent/],
    [['hold', ID], { json: true }, /queue hold does not take --json/],
    [['delete', ID], { domain: 'b.test' }, /queue delete does not take --domain/],
    [['retry'], {}, /queue retry takes one of: ID, --all, --domain D/],
    [['retry', ID], { all: true }, /queue retry takes one of/],
    [['retry'], { all: true, domain: 'b.test' }, /queue retry takes one of/],
    [['retry'], { domain: 'not a domain' }, /--domain "not a domain" is not a domain name/],
  ];
  for (const [positionals, values, message] of cases) {
    t.throws(() => parseQueueRequest(positionals, values), { constructor: UsageError, message }, positionals.join(' ') + ' ' + JSON.stringify(values));
  }
});

import t from 'tap';
import { hasSenderSpecifiedRouting } from '../../src/policy/senderRouting.js';

t.test('sender-specified routing is told by the local part alone', async (t) => {
  const cases: Array<[string, boolean, string]> = [
    ['user@victim.test', false, 'a plain address'],
    ['first.last+tag@victim.test', false, 'dots and plus are no routing'],
    ['', false, 'the null sender'],
    ['postmaster', false, 'the domainless postmaster'],
    ['user%evil.test@victim.test', true, 'the percent hack'],
    ['user%evil.test%other.test@victim.test', true, 'two hops of it'],
    ['evil.test!user@victim.test', true, 'a bang path'],
    ['"user%evil.test"@victim.test', true, 'percent inside a quoted local part'],
    ['"evil.test!user"@victim.test', true, 'bang inside a quoted local part'],
    ['"user@evil.test"@victim.test', true, 'an @ inside a quoted local part'],
    ['"user\\%evil.test"@victim.test', true, 'an escaped percent is still a percent to a next hop'],
    ['user@victim.test!x', false, 'the domain part is judged as a domain, not here'],
    ['user@per%cent.test', false, 'a percent in the domain part is not routing (and not a domain either)'],
  ];
  for (const [address, routed, name] of cases) t.equal(hasSenderSpecifiedRouting(address), routed, `${name}: ${address}`);
});

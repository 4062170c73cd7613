// The relay's log lines wait in a batch of up to 50 ms: a relay that fails in a way Node
// sees (an uncaught exception, an unhandled rejection) still writes every line it logged.
// The failure is injected by a module loaded before the relay (node --import): right after
// the relay has logged "recipient refused" and written its 550, in the same tick — before
// any timer, the batch's included, could have written the line.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN, startRelayCommand, writeConfig } from '../helpers/relayProcess.js';
import { sampleMessage, submit } from '../helpers/smtpClient.js';

const failures = {
  'an uncaught exception': `throw new Error('injected failure')`,
  'an unhandled rejection': `Promise.reject(new Error('injected failure'))`,
};

for (const [what, failure] of Object.entries(failures)) {
  t.test(`${what} right after a log line: the line is on stdout`, async (t) => {
    const dir = t.testdir();
    const preload = join(dir, 'fail-after-refusal.mjs');
    writeFileSync(
      preload,
      `import net from 'node:net';
const write = net.Socket.prototype.write;
net.Socket.prototype.write = function (data, ...rest) {
  if (String(data).includes('Relaying denied')) queueMicrotask(() => { ${failure}; });
  return write.call(this, data, ...rest);
};
`,
    );
    const config = writeConfig(dir, `listeners: [{ name: smtp, port: 0, tls: none }]\nqueue: { dir: spool }\nacceptedDomains: [contoso.test]\n`);
    const relay = startRelayCommand([process.execPath, '--import', preload, MAIN, 'start', '-c', config]);
    t.teardown(() => (relay.child.exitCode === null && relay.child.signalCode === null ? relay.kill9() : undefined));

    const denied = await submit({ port: await relay.port(), tls: 'none', from: 'a@client.test', to: ['someone@example.com'], data: sampleMessage() });
    t.match(denied, { ok: false, code: 550 }, 'the client got its refusal');
    t.equal(await relay.exited, 1, 'the relay died of it: exit 1');
    t.match(relay.stderr(), /injected failure/, 'Node reported the failure on stderr');
    t.ok(
      relay.logs.some((line) => line.msg === 'recipient refused' && line.to === 'someone@example.com' && line.code === 550),
      'the line logged just before the failure reached stdout',
    );
    t.ok(
      relay.logs.some((line) => line.msg === 'connect'),
      'and the session lines before it',
    );
  });
}

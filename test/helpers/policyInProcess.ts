// `tlsrelay policy …` run in-process, its streams captured: for the tests of its argument
// checks and of what it writes, without a process per case.
import { Writable } from 'node:stream';
import { UsageError } from '../../src/cli/args.js';
import { policyCommand } from '../../src/cli/policy.js';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

export async function runPolicy(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await policyCommand(args, { stdout: stdout.stream, stderr: stderr.stream });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** The message of the UsageError the call throws; anything else fails the test. */
export async function policyUsageError(args: string[]): Promise<string> {
  try {
    await runPolicy(args);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error(`no usage error for: ${args.join(' ')}`);
}

// A relay process with two listeners — `smtp` in plaintext and `submission` with STARTTLS
// and SMTP AUTH — and one user, for tests that compare what a session may do with and
// without AUTH. `yaml` adds the rest of the config (accepted domains, connectors, routes).
import type { Test } from 'tap';
import { PROJECT_ROOT, runCli, startRelay, writeConfig, type RelayProcess } from './relayProcess.js';

export const SUBMISSION_USER = 'alice';
export const SUBMISSION_PASSWORD = 'Correct-Horse-Battery-9';

/** AUTH PLAIN's argument for `user` and `password`. */
export const authPlain = (user: string, password: string): string => Buffer.from(`\0${user}\0${password}`).toString('base64');

export interface SubmissionRelay {
  relay: RelayProcess;
  smtp: number;
  submission: number;
}

/** Started, with its stop in the test's teardown. */
export async function startSubmissionRelay(t: Test, auth: 'optional' | 'required', yaml: string): Promise<SubmissionRelay> {
  const hashed = await runCli(['hash-password'], PROJECT_ROOT, `${SUBMISSION_PASSWORD}\n`);
  const relay = startRelay(
    writeConfig(
      t.testdir(),
      `server: { hostname: relay.test }
listeners:
  - { name: smtp, port: 0, tls: none }
  - { name: submission, port: 0, tls: starttls, auth: ${auth} }
tls: { cert: relay.crt, key: relay.key, generateIfMissing: true }
queue: { dir: spool, retry: [1h] }
auth: { users: [{ name: ${SUBMISSION_USER}, passwordHash: "${hashed.stdout.trim()}" }] }
${yaml}`,
    ),
  );
  t.teardown(() => relay.stop());
  return { relay, smtp: await relay.port('smtp'), submission: await relay.port('submission') };
}

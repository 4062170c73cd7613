// The two sessions a graceful stop treats differently, for tests that stop a relay.
import { openDialog, type SmtpDialog } from './smtpDialog.js';

async function expect(dialog: SmtpDialog, line: string, code: string): Promise<void> {
  const reply = await dialog.command(line);
  if (!reply.startsWith(code)) throw new Error(`${line}: expected ${code}, got ${reply}`);
}

/**
 * `idle`: a session after EHLO, which the stop answers with 421 at once. `sending`: one in
 * the middle of DATA for `recipient`, the first half of its message written, which may
 * finish: the test writes `second half\r\n.\r\n` and reads the 250.
 */
export async function idleAndSendingSessions(port: number, recipient: string): Promise<{ idle: SmtpDialog; sending: SmtpDialog }> {
  const idle = await openDialog(port);
  await expect(idle, 'EHLO idle.test', '250');
  const sending = await openDialog(port);
  await expect(sending, 'EHLO busy.test', '250');
  await expect(sending, 'MAIL FROM:<a@client.test>', '250');
  await expect(sending, `RCPT TO:<${recipient}>`, '250');
  await expect(sending, 'DATA', '354');
  await sending.write('Subject: sent during shutdown\r\n\r\nfirst half\r\n');
  return { idle, sending };
}

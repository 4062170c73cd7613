import type { BouncedRecipient, Envelope } from './types.js';

const DELETED = 'deleted from the queue by the administrator';

/**
 * What the DSN for a message an administrator deleted reports: every recipient still
 * pending (delivered ones got it, bounced ones were told already), with its last error.
 */
export function deletedRecipients(envelope: Envelope, now: Date): BouncedRecipient[] {
  return envelope.recipients
    .filter((recipient) => recipient.state === 'pending')
    .map((recipient) => {
      const attempts = envelope.attempts.filter((attempt) => attempt.domain === recipient.domain);
      return {
        address: recipient.address,
        reason: 'deleted',
        status: '5.0.0',
        diagnostic: recipient.lastError ? `${DELETED}; the last delivery error was: ${recipient.lastError}` : DELETED,
        lastAttemptAt: attempts.at(-1)?.at ?? now.toISOString(),
        attempts: attempts.length,
      };
    });
}

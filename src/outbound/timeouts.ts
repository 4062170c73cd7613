// Outbound timeouts in one place until they become config keys. RFC 5321 4.5.3.2 asks
// for minutes per command; a connect or greeting that takes longer than these is a
// host we should leave for the next one.

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

export const SMTP_TIMEOUTS = {
  /** TCP connect plus greeting plus STARTTLS handshake, all together. */
  connectionTimeout: 30 * SECOND,
  greetingTimeout: 30 * SECOND,
  /** Inactivity during the session, e.g. waiting for the reply to DATA's final dot. */
  socketTimeout: 5 * MINUTE,
  /** How long QUIT may wait for the peer to close its side. */
  socketCloseTimeout: 5 * SECOND,
} as const;

/** Per question to one server (and again over TCP when truncated); a server that does not reply is asked `tries` times. */
export const DNS_TIMEOUTS = { timeout: 5 * SECOND, tries: 2 } as const;

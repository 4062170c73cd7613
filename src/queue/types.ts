// What crosses the spool between inbound and outbound: plain, serialisable records.

export type RecipientState = 'pending' | 'delivered' | 'bounced';

export interface QueuedRecipient {
  /** As given in RCPT TO (without angle brackets). */
  address: string;
  /** Normalised domain of the address (after the last '@'). */
  domain: string;
  state: RecipientState;
  /** Last reply or reason, e.g. "451 4.7.5 Cannot start TLS: handshake failure". */
  lastError?: string;
  /** RFC 3461 parameters given at RCPT, when the client used DSN. */
  notify?: string[];
  orcpt?: string;
}

export interface TlsFacts {
  protocol: string;
  cipher: string;
}

/** `dane`: a usable, DNSSEC-validated TLSA record of the next hop matched its certificate chain (RFC 7672). */
export type CertVerdict = 'verified' | 'trusted' | 'pinned' | 'dane' | 'untrusted' | 'none';

export type AttemptOutcome = 'delivered' | 'deferred' | 'bounced';

/**
 * Why a session cannot carry a message that asked for REQUIRETLS (RFC 8689): it is
 * not inside TLS, no policy authenticated the next hop's certificate, or the next hop did
 * not advertise REQUIRETLS in its EHLO after STARTTLS.
 */
export type RequireTlsShortfall = 'no-tls' | 'not-authenticated' | 'not-advertised';

/**
 * What one attempt of a REQUIRETLS message made of the requirement: `met` — the session
 * qualified and MAIL FROM carried REQUIRETLS; a shortfall — the next hop was skipped;
 * `no-session` — the attempt ended before a session could be judged (unreachable, or
 * deferred by the connector's own TLS level).
 */
export type RequireTlsAttempt = 'met' | RequireTlsShortfall | 'no-session';

/** What happened to one recipient in one delivery attempt. */
export interface RecipientResult {
  address: string;
  outcome: AttemptOutcome;
  code: number;
  /** The full reply or reason, e.g. "450 4.7.4 TLS is required, but was not offered by host mx.test". */
  response: string;
  /** Deferred only: ISO time before which trying again is pointless (every next hop is suspended until then). */
  notBefore?: string;
  /**
   * Delivered only: the next hop took the message without the DSN extension (it did not
   * advertise DSN), so nobody after us reports success: a NOTIFY=SUCCESS gets a
   * "relayed" DSN from us (RFC 3461 §5.2.2).
   */
  withoutDsn?: true;
}

/** One delivery attempt to one host for one message, as logged and kept in the envelope. */
export interface AttemptRecord {
  at: string;
  domain: string;
  connector: string;
  tlsLevel: string;
  host: string | null;
  tls: TlsFacts | null;
  verdict: CertVerdict;
  outcome: AttemptOutcome;
  code: number;
  response: string;
  /** Only for a message that asked for REQUIRETLS (absent for any other, and in attempts written before the relay knew it). */
  requireTls?: RequireTlsAttempt;
}

/** BODY= as given at MAIL FROM (RFC 6152). */
export type BodyType = '7BIT' | '8BITMIME';

/** Whether a part of a message has octets above 127. */
export type Octets = '7bit' | '8bit';

/**
 * What the stored message is made of, as far as a next hop's 8BITMIME and SMTPUTF8 are
 * concerned: the header section (up to the first empty line) and the body, each 7-bit or not.
 */
export interface MessageContent {
  header: Octets;
  body: Octets;
}

export interface Envelope {
  id: string;
  /** ISO time the message got its 250. */
  receivedAt: string;
  /** MAIL FROM address; '' for the null sender (bounces). */
  from: string;
  recipients: QueuedRecipient[];
  /** Bytes of the stored message file (headers we added included). */
  size: number;
  /** ISO time the next delivery attempt is due. */
  nextAttemptAt: string;
  attempts: AttemptRecord[];
  /** RFC 3461 envelope parameters given at MAIL, when the client used DSN. */
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  /** The "delayed" DSN (queue.delayNotice) has been decided on: it is never sent twice. */
  delayNoticeSent?: boolean;
  /**
   * Delivery rounds that ended with a recipient deferred; picks the step of queue.retry.
   * Absent counts as 0 (envelopes written before the field existed).
   */
  deferrals?: number;
  /** ISO time an administrator held the message (`tlsrelay queue hold`): never delivered until released. */
  heldAt?: string;
  /** BODY= given at MAIL FROM; absent when the client gave none. */
  body?: BodyType;
  /** The client gave SMTPUTF8 at MAIL FROM (RFC 6531). */
  smtputf8?: true;
  /**
   * What the spool found in the bytes it stored (Received header included). Absent in
   * envelopes written before the relay looked: those are delivered as they were then.
   */
  content?: MessageContent;
  /** The relay's own TLS report (RFC 8460 §5.3): its sessions are never counted in a report. */
  tlsReport?: true;
  /**
   * The client gave REQUIRETLS at MAIL FROM (RFC 8689): the message goes only to a next hop
   * that authenticated and advertises REQUIRETLS, or bounces. Absent in envelopes written
   * before the relay honoured it (they were accepted without the keyword).
   */
  requireTls?: true;
}

/** What inbound hands to the spool together with the message stream. */
export interface NewMessage {
  from: string;
  recipients: Array<Pick<QueuedRecipient, 'address' | 'domain' | 'notify' | 'orcpt'>>;
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  body?: BodyType;
  smtputf8?: true;
  /** Set by the TLS-RPT sender only, never by inbound. */
  tlsReport?: true;
  requireTls?: true;
}

/** Why a recipient bounced: the next hop refused it, it stayed deferred past maxAge, or an administrator deleted the message. */
export type BounceReason = 'rejected' | 'expired' | 'deleted';

/** One recipient to report in a DSN, as decided by the bookkeeping of a delivery round. */
export interface BouncedRecipient {
  address: string;
  reason: BounceReason;
  /** RFC 3463 status of class 5 (the DSN says "failed"), e.g. "5.1.1"; an expired 4.7.5 becomes 5.7.5. */
  status: string;
  /** The reply or reason of the last attempt, e.g. "550 5.1.1 <bob@b.test>: user unknown". */
  diagnostic: string;
  /** ISO time of the last attempt. */
  lastAttemptAt: string;
  /** The host that gave the reply, when a host was reached. */
  remoteMta?: string;
  /** Attempts made for the recipient's domain, this round included. */
  attempts: number;
}

/** One recipient of a DSN that says "delayed" (still being retried) or "relayed" (passed on to a next hop without DSN). */
export interface NoticeRecipient {
  address: string;
  /** RFC 3463 status: class 4 for "delayed" (e.g. 4.7.5), class 2 for "relayed". */
  status: string;
  /** The reply of the last attempt: the last deferral, or the next hop's 250. */
  diagnostic: string;
  /** ISO time of the last attempt. */
  lastAttemptAt: string;
  remoteMta?: string;
}

export interface DelayedRecipient extends NoticeRecipient {
  /** ISO time after which the relay gives up: the message's arrival plus its connector's maxAge. */
  willRetryUntil: string;
}

/** What one DSN (RFC 3464) reports: every recipient in it has the same Action. */
export type DsnReport =
  | { action: 'failed'; recipients: BouncedRecipient[] }
  | { action: 'delayed'; recipients: DelayedRecipient[] }
  | { action: 'relayed'; recipients: NoticeRecipient[] };

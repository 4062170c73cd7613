/** The TLS of the inbound hop, as the Received header reports it. */
export interface InboundTlsFacts {
  protocol: string;
  cipher: string;
  /** A client certificate was presented and chains to a trusted root. */
  clientVerified: boolean;
}

export interface ReceivedFields {
  heloName: string;
  clientIp: string;
  byHost: string;
  tls: InboundTlsFacts | undefined;
  authenticated: boolean;
  /** Named in a `for` clause only when there is exactly one (RFC 5321 4.4: privacy). */
  recipients: readonly string[];
  date: Date;
}

/** `with` keyword per RFC 3848: ESMTP, ESMTPS (TLS), ESMTPA / ESMTPSA (authenticated). */
function protocolKeyword(tls: boolean, authenticated: boolean): string {
  return `ESMTP${tls ? 'S' : ''}${authenticated ? 'A' : ''}`;
}

/** Strips anything that could end the header line or inject another one. */
function headerSafe(text: string): string {
  return text.replace(/[\r\n\0()]/g, '').slice(0, 255);
}

/**
 * The Received header the relay adds, with the inbound hop's TLS facts in the comment
 * after `with`, the way Postfix reports them, e.g.
 * `with ESMTPS (version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 verified=no)`.
 */
export function receivedHeader(fields: ReceivedFields): string {
  const tlsComment = fields.tls
    ? ` (version=${fields.tls.protocol} cipher=${fields.tls.cipher} verified=${fields.tls.clientVerified ? 'yes' : 'no'})`
    : '';
  const forClause = fields.recipients.length === 1 ? `\r\n\tfor <${headerSafe(fields.recipients[0] ?? '')}>` : '';
  return (
    `Received: from ${headerSafe(fields.heloName) || 'unknown'} ([${fields.clientIp}])\r\n` +
    `\tby ${fields.byHost} (tlsrelay) with ${protocolKeyword(fields.tls !== undefined, fields.authenticated)}${tlsComment}` +
    `${forClause};\r\n\t${fields.date.toUTCString().replace('GMT', '+0000')}\r\n`
  );
}

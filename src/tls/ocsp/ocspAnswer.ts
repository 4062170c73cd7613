// What an OCSP response says about one certificate, once read and checked.

export type OcspAnswer =
  | { kind: 'good'; thisUpdate: Date; nextUpdate?: Date }
  /** thisUpdate and nextUpdate as for good: how long the answer may be kept. */
  | { kind: 'revoked'; revokedAt: Date; reason?: string; thisUpdate: Date; nextUpdate?: Date }
  /** The responder does not know the certificate (RFC 6960 2.2). */
  | { kind: 'unknown'; thisUpdate: Date; nextUpdate?: Date }
  /** Nothing in the response can be relied on; `reason` says why. */
  | { kind: 'invalid'; reason: string };

/** An answer the responder vouched for: what a cache may keep. */
export type SignedOcspAnswer = Exclude<OcspAnswer, { kind: 'invalid' }>;

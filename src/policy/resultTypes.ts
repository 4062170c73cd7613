import type { StsFailureType } from './mtaSts.js';

// RFC 8460 §4.3: the result types a failed session is reported under, in TLS-RPT and in
// the transit record alike, so that a report is a count of what the record says.

/** §4.3.1: the TLS negotiation with the MX failed or fell short. */
export const NEGOTIATION_FAILURES = ['starttls-not-supported', 'certificate-host-mismatch', 'certificate-expired', 'certificate-not-trusted', 'validation-failure'] as const;
export type NegotiationFailure = (typeof NEGOTIATION_FAILURES)[number];

/** §4.3.2.1: DANE's records could not be used or were not met. */
export const DANE_FAILURES = ['tlsa-invalid', 'dnssec-invalid', 'dane-required'] as const;
export type DaneFailure = (typeof DANE_FAILURES)[number];

/** §4.3.2.2: MTA-STS (the types themselves live with the MTA-STS facts). */
export const STS_FAILURES = ['sts-policy-fetch-error', 'sts-policy-invalid', 'sts-webpki-invalid'] as const satisfies readonly StsFailureType[];

export const TLS_RESULT_TYPES = [...NEGOTIATION_FAILURES, ...DANE_FAILURES, ...STS_FAILURES] as const;
export type TlsResultType = NegotiationFailure | DaneFailure | StsFailureType;

/** What a failed certificate chain is reported as; the chain check knows which. */
export type ChainFailure = Extract<NegotiationFailure, 'certificate-expired' | 'certificate-not-trusted' | 'validation-failure'>;

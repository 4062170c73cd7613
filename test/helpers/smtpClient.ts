// A real SMTP client (nodemailer's SMTPConnection) for sending into the relay in tests.
import SMTPConnection from 'nodemailer/lib/smtp-connection';

export interface SubmitOptions {
  port: number;
  host?: string;
  /** 'starttls' requires STARTTLS, 'implicit' connects with TLS, 'none' never upgrades. */
  tls?: 'starttls' | 'implicit' | 'none';
  from: string;
  to: string[];
  data: string | Buffer;
  /** Client certificate to present. */
  key?: string;
  cert?: string;
  /** SMTP AUTH before MAIL FROM, with the given mechanism. */
  auth?: { user: string; pass: string; method: 'PLAIN' | 'LOGIN' };
  /** Local address to connect from, e.g. 127.0.0.2 to be another client IP. */
  localAddress?: string;
}

export type SubmitResult =
  | { ok: true; response: string; accepted: string[]; rejected: string[] }
  | { ok: false; code: number | undefined; response: string; stage: string };

/** Sends one message; never throws — a refusal comes back as { ok: false } with the reply. */
export function submit(options: SubmitOptions): Promise<SubmitResult> {
  const mode = options.tls ?? 'starttls';
  const conn = new SMTPConnection({
    host: options.host ?? '127.0.0.1',
    port: options.port,
    secure: mode === 'implicit',
    requireTLS: mode === 'starttls',
    ignoreTLS: mode === 'none',
    name: 'client.test',
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    tls: { rejectUnauthorized: false, ...(options.key ? { key: options.key, cert: options.cert } : {}) },
  });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: SubmitResult): void => {
      if (settled) return;
      settled = true;
      conn.quit();
      resolve(result);
    };
    conn.on('error', (err: Error & { responseCode?: number; response?: string; command?: string }) =>
      finish({ ok: false, code: err.responseCode, response: err.response ?? err.message, stage: err.command ?? 'CONN' }),
    );
    conn.connect((err) => {
      if (err) {
        finish({ ok: false, code: err.responseCode, response: err.response ?? err.message, stage: 'CONN' });
        return;
      }
      const send = (): void => conn.send({ from: options.from, to: options.to }, options.data, (sendErr, info) => {
        if (sendErr) {
          const e = sendErr as typeof sendErr & { rejectedErrors?: Array<{ response?: string; responseCode?: number }> };
          const first = e.rejectedErrors?.[0];
          finish({
            ok: false,
            code: first?.responseCode ?? e.responseCode,
            response: first?.response ?? e.response ?? e.message,
            stage: e.command ?? 'DATA',
          });
          return;
        }
        finish({ ok: true, response: info!.response, accepted: info!.accepted, rejected: info!.rejected });
      });
      if (!options.auth) {
        send();
        return;
      }
      const { user, pass, method } = options.auth;
      conn.login({ user, pass, method }, (authErr) => {
        if (authErr) finish({ ok: false, code: authErr.responseCode, response: authErr.response ?? authErr.message, stage: `AUTH ${method}` });
        else send();
      });
    });
  });
}

/** A small, valid RFC 5322 message with CRLF line endings. */
export function sampleMessage(subject = 'test', body = 'Hello from the tlsrelay tests.'): string {
  return [`From: a@client.test`, `To: b@example.test`, `Subject: ${subject}`, `Message-ID: <${Math.random().toString(36).slice(2)}@client.test>`, '', body, ''].join('\r\n');
}

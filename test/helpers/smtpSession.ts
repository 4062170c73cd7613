// One SMTP session into the relay that carries many messages (nodemailer's SMTPConnection,
// RSET between them), for load: the benches and the kill -9 test. Unlike submit() (one
// connection per message, never throws), every step rejects when the server refuses it or
// the connection breaks — at any step, also between commands, which SMTPConnection tells
// only by an event.
//
//   const session = await openSmtpSession({ port, tls: 'none' });
//   await session.send({ from, to }, message);   // the server's 250 line
//   session.quit();
import SMTPConnection from 'nodemailer/lib/smtp-connection';

export interface SmtpSessionOptions {
  port: number;
  /** 'starttls' requires STARTTLS (any certificate taken), 'none' never upgrades. */
  tls: 'starttls' | 'none';
}

export interface SmtpSession {
  /** Sends one message; resolves with the server's final reply, after which the session is ready for the next. */
  send(envelope: { from: string; to: string[] }, message: string | Buffer): Promise<string>;
  quit(): void;
}

export async function openSmtpSession({ port, tls }: SmtpSessionOptions): Promise<SmtpSession> {
  const conn = new SMTPConnection({ host: '127.0.0.1', port, requireTLS: tls === 'starttls', ignoreTLS: tls === 'none', tls: { rejectUnauthorized: false } });
  // 'error' or the end may come at any step; unheard, an 'error' would crash the process
  const broken = new Promise<never>((_, reject) => {
    conn.on('error', reject);
    conn.once('end', () => reject(new Error('the server closed the connection')));
  });
  broken.catch(() => undefined);
  const step = <T>(work: (callback: (err: Error | null, value?: T) => void) => void): Promise<T | undefined> =>
    Promise.race([new Promise<T | undefined>((resolve, reject) => work((err, value) => (err ? reject(err) : resolve(value)))), broken]);

  await step<void>((callback) => conn.connect((err) => callback(err ?? null)));
  let sent = 0;
  return {
    async send(envelope, message) {
      if (sent++ > 0) await step<boolean>((callback) => conn.reset((err) => callback(err ?? null)));
      const info = await step<SMTPConnection.SentMessageInfo>((callback) => conn.send(envelope, message, (err, value) => callback(err, value)));
      return info!.response;
    },
    quit: () => conn.quit(),
  };
}

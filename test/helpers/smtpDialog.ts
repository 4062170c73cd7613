// A raw SMTP dialog over a real socket, one command at a time, for tests that must see
// exact replies and capabilities (what an SMTP library would hide or act on by itself).
//
//   const dialog = await openDialog(port);
//   await dialog.command('EHLO client.test');   // the whole reply, e.g. '250-relay.test\r\n250 …\r\n'
//   await dialog.startTls();                     // STARTTLS + handshake on the same connection
//   dialog.close();
import { once } from 'node:events';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SmtpDialog {
  /** The server's greeting. */
  greeting: string;
  /** Sends one line and resolves with the complete (possibly multi-line) reply. */
  command(line: string): Promise<string>;
  /**
   * Writes raw bytes without waiting for a reply (message data, a partial line; a string
   * goes as UTF-8); resolves once they are handed to the OS, so the next write leaves in a
   * packet of its own.
   */
  write(raw: string | Buffer): Promise<void>;
  /** The next complete reply, solicited or not (e.g. a 421 at shutdown). */
  reply(): Promise<string>;
  /**
   * STARTTLS, then the TLS handshake on the same connection; resolves with the reply to
   * STARTTLS. `pipelined` is written in the same packet right behind STARTTLS (injection).
   */
  startTls(pipelined?: string): Promise<string>;
  /** Resolves once the connection is closed (by the server, or by close()). */
  closed(): Promise<void>;
  close(): void;
}

/** One complete reply: any `ddd-` lines, then a `ddd ` (or bare `ddd`) line. */
const REPLY = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/;

export async function openDialog(port: number, options: { host?: string; localAddress?: string } = {}): Promise<SmtpDialog> {
  let socket: Socket = connectTcp({ host: options.host ?? '127.0.0.1', port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
  let buffer = '';
  let wake: (() => void) | undefined;
  const onData = (chunk: Buffer): void => {
    buffer += chunk.toString('latin1');
    wake?.();
  };
  const listen = (s: Socket): void => {
    s.on('data', onData);
    s.on('close', () => wake?.());
    // a write after the server hung up fails that write's promise (and a pending reply
    // sees the close) instead of bringing the test process down
    s.on('error', () => wake?.());
  };
  listen(socket);
  await once(socket, 'connect');
  // each write() its own packet: tests split data across network reads on purpose
  socket.setNoDelay(true);

  const reply = async (): Promise<string> => {
    for (;;) {
      const match = REPLY.exec(buffer);
      if (match) {
        buffer = buffer.slice(match[0].length);
        return match[0];
      }
      if (socket.destroyed) throw new Error(`connection closed before a complete reply; got ${JSON.stringify(buffer)}`);
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  const command = async (line: string): Promise<string> => {
    socket.write(`${line}\r\n`);
    return reply();
  };

  const greeting = await reply();
  return {
    greeting,
    command,
    write: (raw) => new Promise<void>((resolve, reject) => socket.write(raw, (err) => (err ? reject(err) : resolve()))),
    reply,
    async startTls(pipelined = '') {
      socket.write(`STARTTLS\r\n${pipelined}`);
      const answer = await reply();
      if (!answer.startsWith('220')) return answer;
      socket.off('data', onData);
      const secure = connectTls({ socket, rejectUnauthorized: false });
      await once(secure, 'secureConnect');
      socket = secure;
      listen(secure);
      return answer;
    },
    closed: () => (socket.destroyed ? Promise.resolve() : once(socket, 'close').then(() => undefined)),
    close() {
      socket.destroy();
    },
  };
}

/** EHLO, MAIL FROM a@client.test, RCPT TO `to` and DATA; resolves with the reply to DATA (a 354 when all went well). */
export async function startTransaction(dialog: SmtpDialog, to: string): Promise<string> {
  await dialog.command('EHLO client.test');
  await dialog.command('MAIL FROM:<a@client.test>');
  await dialog.command(`RCPT TO:<${to}>`);
  return dialog.command('DATA');
}

/**
 * One message from a fresh connection (a@client.test to user@partner.test): the message
 * data — ending in CRLF, without the final dot — goes out in the writes given, each in a
 * packet of its own, the dot behind the last. Resolves with the reply to the dot, or to
 * DATA when that is not 354, once RSET has shown that the session goes on.
 */
export async function sendOneMessage(port: number, writes: string[]): Promise<string> {
  const dialog = await openDialog(port);
  try {
    const ready = await startTransaction(dialog, 'user@partner.test');
    if (!ready.startsWith('354')) return ready;
    for (const [index, raw] of writes.entries()) await dialog.write(index === writes.length - 1 ? `${raw}.\r\n` : raw);
    const reply = await dialog.reply();
    const rset = await dialog.command('RSET');
    if (!rset.startsWith('250')) throw new Error(`the session did not go on after ${JSON.stringify(reply)}: ${rset}`);
    return reply;
  } finally {
    dialog.close();
  }
}

/**
 * A slow client: writes `piece` again and again, `everyMs` apart, until the server answers
 * (or hangs up); resolves with the answer. Writes after the server hung up are dropped.
 */
export async function dripUntilAnswered(dialog: SmtpDialog, piece: string, everyMs: number): Promise<string> {
  let answered = false;
  const answer = dialog.reply().finally(() => (answered = true));
  while (!answered) {
    await dialog.write(piece).catch(() => undefined);
    await sleep(everyMs);
  }
  return answer;
}

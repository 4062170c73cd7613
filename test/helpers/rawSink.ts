// A plaintext next hop that records every byte it receives, for tests that must judge
// what goes over the wire rather than what an SMTP library makes of it (smtp-server and
// smtp-sink rewrite line endings). It speaks just enough SMTP to take mail: greeting,
// EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT — one command at a time, with no
// extensions unless told to list some (it lists them, and acts on none).
//
//   const sink = await startRawSink();          // or { afterData: '451 4.3.0 Later' }, { extensions: ['8BITMIME'] }
//   … deliver to 127.0.0.1:sink.port …
//   await sink.received(2);
//   sink.messages[0].data     // the bytes after the 354, up to the final <CRLF>.<CRLF>
//   sink.commands             // every command line, as this next hop read them
//   sink.transcripts[0]       // everything connection 1 sent, commands included
import { createServer, type Socket } from 'node:net';

export interface RawMessage {
  /** 0-based index into `transcripts`. */
  connection: number;
  /** The MAIL command line as sent. */
  mail: string;
  /** Latin-1, dot-stuffing and all; ends with the CRLF that belongs to the final `<CRLF>.<CRLF>`. */
  data: string;
}

export interface RawCommand {
  connection: number;
  line: string;
}

export interface RawSink {
  port: number;
  /** Every line read as a command (not message data), in order. */
  commands: RawCommand[];
  /** Per connection, in order of arrival: every byte received, as latin-1. */
  transcripts: string[];
  /** Each message received up to its final dot, whatever the answer to it. */
  messages: RawMessage[];
  /** Resolves once at least `count` messages have been received. */
  received(count: number): Promise<void>;
  close(): Promise<void>;
}

const END_OF_DATA = '\r\n.\r\n';

export interface RawSinkOptions {
  /** The answer to each final dot; default 250. A 4xx keeps the message in the sender's queue. */
  afterData?: string;
  /** EHLO keywords to list, e.g. ['8BITMIME', 'SMTPUTF8']; none by default. */
  extensions?: string[];
}

export async function startRawSink(options: RawSinkOptions = {}): Promise<RawSink> {
  const afterData = options.afterData ?? '250 2.0.0 Ok: taken by raw sink';
  const ehlo = ['raw.test', ...(options.extensions ?? [])].map((line, index, all) => `250${index === all.length - 1 ? ' ' : '-'}${line}`).join('\r\n');
  const sockets = new Set<Socket>();
  const transcripts: string[] = [];
  const commands: RawCommand[] = [];
  const messages: RawMessage[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];

  const took = (message: RawMessage): void => {
    messages.push(message);
    for (const waiter of [...waiters]) {
      if (messages.length < waiter.count) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };

  const server = createServer((socket) => {
    const connection = transcripts.push('') - 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const reply = (text: string): void => {
      if (!socket.destroyed) socket.write(`${text}\r\n`);
    };
    let buffer = '';
    let mail = '';
    let inData = false;

    // Returns false when the buffer holds no complete command or message yet.
    const step = (): boolean => {
      if (inData) {
        // the data may be empty, so its first line needs a CRLF in front to be found
        const end = `\r\n${buffer}`.indexOf(END_OF_DATA);
        if (end < 0) return false;
        took({ connection, mail, data: buffer.slice(0, end) });
        buffer = buffer.slice(end + END_OF_DATA.length - 2);
        inData = false;
        reply(afterData);
        return true;
      }
      const end = buffer.indexOf('\r\n');
      if (end < 0) return false;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      commands.push({ connection, line });
      const verb = line.split(/[\s:]/, 1)[0]?.toUpperCase();
      if (verb === 'EHLO') reply(ehlo);
      else if (verb === 'HELO') reply('250 raw.test');
      else if (verb === 'MAIL') {
        mail = line;
        reply('250 2.1.0 Ok');
      } else if (verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP') reply('250 2.0.0 Ok');
      else if (verb === 'DATA') {
        inData = true;
        reply('354 End data with <CR><LF>.<CR><LF>');
      } else if (verb === 'QUIT') {
        reply('221 2.0.0 Bye');
        socket.end();
      } else reply('502 5.5.2 Error: command not recognized');
      return true;
    };

    socket.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      transcripts[connection] += text;
      buffer += text;
      while (step());
    });
    reply('220 raw.test ESMTP');
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    commands,
    transcripts,
    messages,
    received: (count) =>
      new Promise<void>((resolve) => {
        if (messages.length >= count) resolve();
        else waiters.push({ count, resolve });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// The next hop of the load tests that kill relays: smtp-server counting each message that
// arrives whole by its Message-ID (messageText makes them), so that a test can tell lost
// messages, duplicates and messages passed on in part.
import { SMTPServer } from 'smtp-server';

/** The message of one id: its Message-ID names it, and its last line proves it arrived whole. */
export function messageText(id: string): string {
  const body = `${'load '.repeat(15)}\r\n`.repeat(12);
  return `From: sender@client.test\r\nTo: ${id}@sink.test\r\nSubject: load ${id}\r\nMessage-ID: <${id}@client.test>\r\n\r\n${body}last line of ${id}\r\n`;
}

export interface CountingSink {
  port: number;
  /** Deliveries by message id. */
  deliveries: Map<string, number>;
  /** Messages that ended without their last line: the relay passed on part of a message. */
  truncated: string[];
  /** Connections open now. */
  open(): number;
  /** Called after each delivery is counted, before its 250; `reply` sends the 250. */
  onDelivery: (total: number, reply: () => void) => void;
  close(): Promise<void>;
}

/** The next hop: smtp-server, counting each message that arrives whole; the count is made before the 250. */
export async function startCountingSink(): Promise<CountingSink> {
  let total = 0;
  const sink: CountingSink = {
    port: 0,
    deliveries: new Map(),
    truncated: [],
    open: () => server.connections.size,
    onDelivery: (_total, reply) => reply(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const text = Buffer.concat(chunks).toString('latin1');
        const id = /^Message-ID: <([^@>]+)@client\.test>/im.exec(text)?.[1] ?? '?';
        if (!text.endsWith(`last line of ${id}\r\n`)) sink.truncated.push(id);
        sink.deliveries.set(id, (sink.deliveries.get(id) ?? 0) + 1);
        sink.onDelivery(++total, () => callback());
      });
    },
  });
  // a relay killed mid-session is what this test does, not a failure of the sink
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  sink.port = (server.server.address() as { port: number }).port;
  return sink;
}

import { performance } from 'node:perf_hooks';
import type { SMTPServer } from 'smtp-server';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import type { Logger } from '../log.js';
import { afterRead, deadlineReply, NOTHING_PENDING, type DeadlineLimits, type PendingRequest, type RequestKind } from '../policy/requestDeadline.js';
import { replaceConnectionStep } from './connectionStep.js';
import type { SessionLog } from './sessionLog.js';

const watchers = new WeakMap<SMTPServer, RequestDeadlines>();

/**
 * The per-request deadlines (policy/requestDeadline.ts) of one server's sessions. smtp-server
 * only has an idle timer, which every byte restarts. The deadlines are kept where smtp-server
 * parses what the client sends: its command parser, of which a connection gets one at the
 * start and a new one for the TLS session after STARTTLS (so the TLS session is watched
 * too, in the bytes it decrypts). A read is charged the time the parser had been waiting
 * for it: from when it was done with the previous read — which is only once the relay's
 * hooks have answered and the message store has taken the data it was handed, and after the
 * final dot only once the message was accepted or refused — to when the read arrives.
 * This relies on smtp-server 3.x internals (`_createParser`, the parser's `_write`,
 * `_remainder`, `_dataMode`, `dataBytes`); test/e2e/requestDeadlines.test.ts fails if an
 * upgrade changes them.
 */
export class RequestDeadlines {
  constructor(
    private limits: DeadlineLimits,
    private readonly logger: Logger,
    private readonly sessionLog: SessionLog,
  ) {}

  /** SIGHUP: requests that begin or go on after it are judged by the new limits. */
  reconfigure(limits: DeadlineLimits): void {
    this.limits = limits;
  }

  watch(server: SMTPServer): void {
    watchers.set(server, this);
    replaceConnectionStep(server, '_createParser', (createParser) =>
      function (this: SMTPConnection) {
        const parser = createParser.call(this);
        watchers.get(this._server)!.watchParser(this, parser);
        return parser;
      },
    );
  }

  /** The client is told, the connection closed (smtp-server closes it behind a 421). */
  private expired(connection: SMTPConnection, kind: RequestKind): void {
    this.logger.warn({ ...this.sessionLog.fields(connection.session), deadline: kind }, 'request deadline exceeded: connection closed');
    const { code, message } = deadlineReply(connection.name);
    connection.send(code, message);
  }

  private watchParser(connection: SMTPConnection, parser: SMTPStream): void {
    let pending: PendingRequest = NOTHING_PENDING;
    let waitingSince = performance.now();
    /** A read is being parsed: the parser's own calls of `_write` (the rest of a read, after DATA or the final dot) are part of it. */
    let parsing = false;
    let linesCompleted = 0;
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => clearTimeout(timer);

    const dispatch = parser.oncommand;
    parser.oncommand = (line, callback) => {
      linesCompleted++;
      dispatch.call(parser, line, callback);
    };

    const arm = (): void => {
      if (pending.kind === 'none') return;
      const { kind, remainingMs } = pending;
      timer = setTimeout(() => {
        if (parsing || parser.isClosed || connection._closing || connection._closed) return;
        this.expired(connection, kind);
      }, Math.max(0, remainingMs));
      timer.unref();
    };

    const parse = parser._write;
    parser._write = (chunk, encoding, next) => {
      if (parsing) return parse.call(parser, chunk, encoding, next);
      parsing = true;
      stop();
      const waitedMs = performance.now() - waitingSince;
      const linesBefore = linesCompleted;
      const dataBytesBefore = parser._dataMode ? parser.dataBytes : undefined;
      parse.call(parser, chunk, encoding, (err) => {
        parsing = false;
        const owing = parser._dataMode ? 'data' : parser._remainder ? 'command' : 'none';
        const dataBytes = dataBytesBefore !== undefined && parser._dataMode ? parser.dataBytes - dataBytesBefore : 0;
        pending = afterRead(pending, { waitedMs, owing, completedLine: linesCompleted !== linesBefore, dataBytes }, this.limits);
        waitingSince = performance.now();
        // armed before the parser asks for the next read, which may come at once
        if (!err && !parser.isClosed) arm();
        next(err);
      });
    };
    // the socket is unpiped when the connection closes and when STARTTLS retires this parser
    parser.once('unpipe', stop);
    parser.once('finish', stop);
  }
}

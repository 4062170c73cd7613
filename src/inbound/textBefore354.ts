import type { SMTPServer, SMTPServerSession } from 'smtp-server';
// without .js: tap's TypeScript loader maps the package's "./lib/*.js" export to *.js.js (Node maps both)
import { SMTPConnection } from 'smtp-server/lib/smtp-connection';
import { SMTPStream } from 'smtp-server/lib/smtp-stream';
import type { InboundVerdict } from '../policy/inbound.js';
import { replaceConnectionStep } from './connectionStep.js';
import type { Reply } from './oneStatusCode.js';

/**
 * Asked once per DATA, when the 354 is due, whether message text had already arrived;
 * the answer says whether the 354 goes out or the session is refused (and closed) instead.
 */
export type TextBefore354Judge = (session: SMTPServerSession, textBefore354: boolean) => InboundVerdict;

/** What the message store gets instead of the message when the session was refused in place of the 354. */
export class RefusedBefore354 extends Error {
  readonly responseCode: number;
  constructor(verdict: InboundVerdict & { ok: false }) {
    super(verdict.message);
    this.responseCode = verdict.code;
  }
}

const judges = new WeakMap<SMTPServer, TextBefore354Judge>();
/** Parsers in data mode whose 354 is held back, and whether message text reached them meanwhile. */
const held = new WeakMap<SMTPStream, { text: boolean }>();
/** The verdict on each session's latest DATA, for its onData handler. */
const goAheads = new WeakMap<SMTPServerSession, Promise<InboundVerdict>>();
const AT_ONCE: Promise<InboundVerdict> = Promise.resolve({ ok: true });

/**
 * smtp-server takes whatever follows the DATA line as message text, whether the client
 * waited for the 354 or not, and has no hook between the two. For the servers given here
 * the 354 is held back for one turn of the event loop: the rest of the packet that carried
 * DATA, and what had arrived behind it, reaches the parser in that turn, so the judge
 * learns whether text came before the 354 could have been read. (Text that smtp-server
 * leaves unread until its replies drain — a client that reads none of them — counts as
 * later.) The 354 to DATA is smtp-server's last word; its other replies to it pass at once.
 * This relies on smtp-server 3.x internals (`handler_DATA`, `_feedDataStream`), as
 * mailParameters.ts does; test/e2e/pipeliningAndRouting.test.ts fails if an upgrade changes them.
 */
export function judgeTextBefore354(server: SMTPServer, judge: TextBefore354Judge): void {
  judges.set(server, judge);
  replaceConnectionStep(server, 'handler_DATA', (handleData) => {
    // the replacement is made once per process, and so is the parser's watch
    watchMessageText();
    return function (this: SMTPConnection, command, callback) {
      const judged = judges.get(this._server)!;
      const parser = this._parser;
      if (!parser) return handleData.call(this, command, callback);
      let goAhead: Reply | undefined;
      this.send = (...reply: Reply) => {
        if (reply[0] === 354) goAhead = reply;
        else SMTPConnection.prototype.send.apply(this, reply);
      };
      let decided!: (verdict: InboundVerdict) => void;
      goAheads.set(this.session, new Promise((resolve) => (decided = resolve)));
      const watch = { text: false };
      held.set(parser, watch);
      try {
        handleData.call(this, command, callback);
      } finally {
        delete (this as Partial<SMTPConnection>).send;
      }
      if (!goAhead) {
        // refused before the 354 (no RCPT yet): no data mode, nothing to judge
        held.delete(parser);
        goAheads.delete(this.session);
        return;
      }
      const reply = goAhead;
      setImmediate(() => {
        held.delete(parser);
        const verdict = judged(this.session, watch.text);
        if (verdict.ok) this.send(...reply);
        else {
          this.send(verdict.code, verdict.message);
          this.close();
        }
        decided(verdict);
      });
    };
  });
}

/** Marks the held parsers that message text reached (the parser is shared by every server's connections). */
function watchMessageText(): void {
  const feed = SMTPStream.prototype._feedDataStream;
  SMTPStream.prototype._feedDataStream = function (this: SMTPStream, chunk, done) {
    const watch = held.get(this);
    if (watch) watch.text = true;
    feed.call(this, chunk, done);
  };
}

/**
 * For onData: resolves with the verdict once the 354 went out or the session was refused
 * in its place; until then nothing the client sent may be kept. (A server without the
 * check goes ahead at once.)
 */
export function goAheadOf(session: SMTPServerSession): Promise<InboundVerdict> {
  return goAheads.get(session) ?? AT_ONCE;
}

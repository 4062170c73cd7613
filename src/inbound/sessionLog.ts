import type { SMTPServerSession } from 'smtp-server';
import type { Logger } from '../log.js';
import { unmapIpv4 } from '../policy/ipRanges.js';
import { CommandCounts } from './commandCounts.js';
import type { CommandListener } from './commandObserver.js';
import type { InboundTlsFacts } from './receivedHeader.js';

/**
 * What every log line about an SMTP session starts with, so that grepping the session ID
 * (or the client address) finds its connect, its refusals, its accepted messages (which add
 * their queueId) and its disconnect. `from` is there once the client has given MAIL FROM.
 */
export interface SessionFields {
  listener: string;
  session: string;
  client: string;
  from?: string;
}

/** What the disconnect line reports of the session besides its commands. */
export interface SessionOutcome {
  tls: InboundTlsFacts | undefined;
  messagesAccepted: number;
}

/**
 * The `connect` and `disconnect` lines of one listener's sessions, as Postfix's smtpd logs
 * `connect from …` and `disconnect from … ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4`.
 */
export class SessionLog implements CommandListener {
  private readonly open = new Map<string, CommandCounts>();

  constructor(
    private readonly listener: string,
    private readonly logger: Logger,
  ) {}

  fields(session: SMTPServerSession): SessionFields {
    const sender = session.envelope?.mailFrom;
    return {
      listener: this.listener,
      session: session.id,
      client: unmapIpv4(session.remoteAddress),
      ...(sender ? { from: sender.address } : {}),
    };
  }

  connected(session: SMTPServerSession): void {
    this.open.set(session.id, new CommandCounts());
    this.logger.info(this.fields(session), 'connect');
  }

  disconnected(session: SMTPServerSession, outcome: SessionOutcome): void {
    const counts = this.open.get(session.id);
    if (!counts) return;
    this.open.delete(session.id);
    this.logger.info(
      {
        ...this.fields(session),
        helo: session.hostNameAppearsAs || null,
        user: session.user || null,
        tls: outcome.tls ? { protocol: outcome.tls.protocol, cipher: outcome.tls.cipher } : null,
        messages: outcome.messagesAccepted,
        commands: counts.summary(),
      },
      'disconnect',
    );
  }

  command(sessionId: string, word: string): void {
    this.open.get(sessionId)?.command(word);
  }

  reply(sessionId: string, code: number): void {
    this.open.get(sessionId)?.reply(code);
  }
}

/**
 * The commands of one SMTP session, counted the way Postfix's `disconnect from` line
 * counts them: `ehlo=2 starttls=1 mail=1 rcpt=1/2 data=1 quit=1 commands=7/8` — a command
 * succeeded when its final reply was 2xx, and `ok/total` is written only when some failed.
 */
export class CommandCounts {
  private readonly counts = new Map<CountedVerb, { ok: number; total: number }>();
  private current: { verb: CountedVerb; reply: number | undefined } | undefined;

  /** A line from the client that smtp-server took as a command. */
  command(word: string): void {
    // after a 3xx the command goes on: the next line is an AUTH continuation (after 334)
    if (this.current?.reply !== undefined && isIntermediate(this.current.reply)) return;
    this.settle();
    this.current = { verb: countedVerb(word), reply: undefined };
  }

  /** A reply the server sent; one after the command's final reply (a 421 at an idle timeout or shutdown) is not its. */
  reply(code: number): void {
    if (this.current && (this.current.reply === undefined || isIntermediate(this.current.reply))) this.current.reply = code;
  }

  /** `ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4`; a command still without its final reply counts as failed. */
  summary(): string {
    this.settle();
    let ok = 0;
    let total = 0;
    const parts: string[] = [];
    for (const verb of COUNTED_VERBS) {
      const count = this.counts.get(verb);
      if (!count) continue;
      parts.push(`${verb}=${ratio(count.ok, count.total)}`);
      ok += count.ok;
      total += count.total;
    }
    parts.push(`commands=${ratio(ok, total)}`);
    return parts.join(' ');
  }

  private settle(): void {
    if (!this.current) return;
    const count = this.counts.get(this.current.verb) ?? { ok: 0, total: 0 };
    count.total++;
    if (this.current.reply !== undefined && this.current.reply >= 200 && this.current.reply < 300) count.ok++;
    this.counts.set(this.current.verb, count);
    this.current = undefined;
  }
}

/** Postfix's names, in the order of its disconnect line; anything else is `unknown`. */
const COUNTED_VERBS = [
  'helo', 'ehlo', 'lhlo', 'xclient', 'xforward', 'starttls', 'auth', 'mail', 'rcpt', 'data', 'bdat', 'rset', 'noop', 'vrfy', 'expn', 'etrn', 'help', 'quit', 'unknown',
] as const;
type CountedVerb = (typeof COUNTED_VERBS)[number];

function countedVerb(word: string): CountedVerb {
  const verb = word.toLowerCase();
  return (COUNTED_VERBS as readonly string[]).includes(verb) ? (verb as CountedVerb) : 'unknown';
}

function isIntermediate(code: number): boolean {
  return code >= 300 && code < 400;
}

function ratio(ok: number, total: number): string {
  return ok === total ? String(total) : `${ok}/${total}`;
}

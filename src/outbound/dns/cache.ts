import type { DnsQuery } from './client.js';

// Answers kept for their TTL, and one query in flight per question: a burst of 1,000
// deliveries to one domain asks for its MX once. Temporary failures are not kept, so the
// next delivery asks again (the queue's retry schedule paces that).

export interface DnsCacheOptions {
  /** Milliseconds since the epoch; tests pass their own clock. */
  now?: () => number;
  /** TTLs above this (seconds) are cut to it, so a changed record is seen within the hour. */
  maxTtl?: number;
  /** Beyond this many answers, the expired ones go, then the oldest. */
  maxEntries?: number;
}

const DEFAULTS = { maxTtl: 3600, maxEntries: 10_000 } as const;

type Answer = Awaited<ReturnType<DnsQuery>>;

interface Entry {
  answer: Answer;
  expires: number;
}

/** A kept answer's TTL is what is left of its time here, as a recursive resolver counts down. */
function withRemainingTtl(entry: Entry, now: number): Answer {
  if (entry.answer.kind === 'temporary') return entry.answer;
  return { ...entry.answer, ttl: Math.ceil((entry.expires - now) / 1000) };
}

export function cachedDnsQuery(query: DnsQuery, options: DnsCacheOptions = {}): DnsQuery {
  const now = options.now ?? Date.now;
  const maxTtl = options.maxTtl ?? DEFAULTS.maxTtl;
  const maxEntries = options.maxEntries ?? DEFAULTS.maxEntries;
  const answers = new Map<string, Entry>();
  const inFlight = new Map<string, ReturnType<DnsQuery>>();

  function keep(key: string, answer: Answer): void {
    if (answer.kind === 'temporary' || answer.ttl <= 0) return;
    answers.delete(key); // re-inserted last: the Map's order is the age order
    answers.set(key, { answer, expires: now() + Math.min(answer.ttl, maxTtl) * 1000 });
    if (answers.size <= maxEntries) return;
    const time = now();
    for (const [old, entry] of answers) if (entry.expires <= time) answers.delete(old);
    for (const old of answers.keys()) {
      if (answers.size <= maxEntries) break;
      answers.delete(old);
    }
  }

  return (name, type) => {
    const key = `${type} ${name.toLowerCase().replace(/\.$/, '')}`;
    const kept = answers.get(key);
    const time = now();
    if (kept !== undefined && kept.expires > time) return Promise.resolve(withRemainingTtl(kept, time));
    const pending = inFlight.get(key);
    if (pending !== undefined) return pending;
    const asked = query(name, type)
      .then((answer) => {
        keep(key, answer);
        return answer;
      })
      // also when the query broke its promise never to throw: a stuck rejection would answer every later lookup
      .finally(() => inFlight.delete(key));
    inFlight.set(key, asked);
    return asked;
  };
}

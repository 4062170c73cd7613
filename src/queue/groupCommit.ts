/**
 * Group commit: one fsync shared by every caller that asks for it while another is under
 * way. A caller never joins a sync that began before it asked — that one may have missed
 * its rename — but waits for the next, which then serves everyone who came meanwhile.
 * With many clients sending at once, a directory is fsync'd once per batch instead of
 * once per message, in series.
 */
export function groupCommit(syncOnce: () => Promise<void>): () => Promise<void> {
  let inFlight: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const begin = (): Promise<void> => {
    const run = syncOnce().finally(() => {
      if (inFlight === run) inFlight = undefined;
    });
    inFlight = run;
    return run;
  };
  return () => {
    if (queued) return queued;
    if (!inFlight) return begin();
    // the next sync starts when this one ends, whatever its outcome; its own outcome is the waiters'
    queued = inFlight
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return begin();
      });
    return queued;
  };
}

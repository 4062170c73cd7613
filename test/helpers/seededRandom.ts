// Random numbers a test can replay: the same seed gives the same sequence, so a failure
// seen once (the test prints its seed) can be run again exactly.

/** Numbers in [0, 1) from a 32-bit seed (mulberry32: small, fast, good enough to pick moments). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The seed in `variable` (a decimal integer) when set, else a fresh one; a malformed value throws rather than being ignored. */
export function seedFrom(variable: string | undefined): number {
  if (variable === undefined || variable === '') return Math.floor(Math.random() * 2 ** 31);
  if (!/^\d+$/.test(variable)) throw new Error(`a seed is a decimal integer, not ${JSON.stringify(variable)}`);
  return Number(variable) >>> 0;
}

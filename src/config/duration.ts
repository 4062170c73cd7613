const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * `30s`, `5m`, `2h`, `2d` in milliseconds; undefined for anything else. Integers only:
 * `1.5h` or `90` are rejected rather than guessed at.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)([smhd])$/.exec(text);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** The inverse of parseDuration: the largest unit that divides `ms` exactly (86400000 → `1d`, 5400000 → `90m`). */
export function formatDuration(ms: number): string {
  const unit = (['d', 'h', 'm', 's'] as const).find((candidate) => ms % UNIT_MS[candidate] === 0);
  return unit === undefined ? `${ms}ms` : `${ms / UNIT_MS[unit]}${unit}`;
}

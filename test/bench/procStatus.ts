import { readFileSync } from 'node:fs';

/** A memory field of /proc/PID/status (VmRSS, VmHWM…), in KiB; 0 when the kernel does not show it. */
export function statusKib(pid: number, field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

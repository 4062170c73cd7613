// A command run as if on another machine: in private mount and UTS namespaces (unshare -m -u)
// whose /etc is an overlay over the real one and whose host name is the test's. The real
// /etc is neither read for what the test replaces nor written; the machine keeps its name.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface PrivateSystem {
  /** The file that becomes /etc/tlsrelay/tlsrelay.yaml; without it, there is no /etc/tlsrelay. */
  systemConfig?: string;
  /** The OS host name (uname -n). */
  hostname?: string;
  /** The whole of /etc/hosts. */
  hosts?: string;
}

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** The command line that runs `command` so; `work` is a fresh folder for the overlay's changes. */
export function inPrivateSystem(work: string, system: PrivateSystem, command: string[]): string[] {
  mkdirSync(join(work, 'upper'), { recursive: true });
  mkdirSync(join(work, 'work'), { recursive: true });
  const script = [
    'set -e',
    `mount -t overlay overlay -o lowerdir=/etc,upperdir=${quote(join(work, 'upper'))},workdir=${quote(join(work, 'work'))} /etc`,
    'rm -rf /etc/tlsrelay',
    ...(system.systemConfig === undefined ? [] : [`mkdir /etc/tlsrelay && cp ${quote(system.systemConfig)} /etc/tlsrelay/tlsrelay.yaml`]),
    // /proc rather than the hostname binary, which minimal systems lack
    ...(system.hostname === undefined ? [] : [`printf %s ${quote(system.hostname)} > /proc/sys/kernel/hostname`]),
    ...(system.hosts === undefined ? [] : [`printf %s ${quote(system.hosts)} > /etc/hosts`]),
    `exec ${command.map(quote).join(' ')}`,
  ];
  return ['unshare', '-m', '-u', 'sh', '-c', script.join('\n')];
}

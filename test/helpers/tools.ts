// Interop tools from Debian (swaks, postfix, testssl, unbound): a test that needs one skips with a
// printed reason when it is missing — except under CI=true, where .ci/run installed them
// and a missing tool must fail the run rather than hide that the test never ran.
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';

export function toolAvailable(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Returns the options for a tap test that needs `tool`: `{ skip: reason }` when missing
 * outside CI. Under CI a missing tool throws, failing the file.
 */
export function needsTool(tool: string, hint: string): { skip?: string } {
  return toolAvailable(tool) ? {} : missing(`${tool} is not installed (${hint})`);
}

/**
 * swaks with TLS: Debian's swaks speaks TLS only when Net::SSLeay is installed (a mere
 * Recommends), and without it fails every --tls run with exit 10.
 */
export function needsSwaks(): { skip?: string } {
  if (!toolAvailable('swaks')) return missing('swaks is not installed (apt-get install swaks libnet-ssleay-perl)');
  const support = spawnSync('swaks', ['--support'], { encoding: 'utf8' });
  if (/^=== TLS supported/m.test(`${support.stdout}${support.stderr}`)) return {};
  return missing('swaks cannot speak TLS: Net::SSLeay is missing (apt-get install libnet-ssleay-perl)');
}

function missing(reason: string): { skip: string } {
  if (process.env.CI === 'true') throw new Error(`${reason}; CI must run this test`);
  return { skip: reason };
}

export interface ToolRun {
  code: number | null;
  /** stdout and stderr as they came, interleaved. */
  output: string;
}

/** Runs a tool to completion (swaks, postfix, …); never throws for a non-zero exit. */
export async function runTool(command: string, args: string[], options: Pick<SpawnOptions, 'env' | 'cwd'> = {}): Promise<ToolRun> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'close', not 'exit': on a loaded machine a child can exit before its last output is read
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output };
}

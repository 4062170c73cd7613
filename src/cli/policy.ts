import { parseCommandArgs, type CommandIo } from './args.js';
import { EXPLAIN_OPTIONS, explainCommand } from './policyExplain.js';
import { WHAT_IF_OPTIONS, whatIfCommand } from './whatIf.js';

/**
 * `tlsrelay policy explain …` and `tlsrelay policy what-if …`. The subcommand is found
 * with every option of both known, so that an option before it (`-c FILE what-if`) is
 * read as one; each then judges its own options, and refuses the other's.
 */
export async function policyCommand(args: string[], io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  const { positionals } = parseCommandArgs(args, { ...EXPLAIN_OPTIONS, ...WHAT_IF_OPTIONS });
  return positionals[0] === 'what-if' ? whatIfCommand(args, io) : explainCommand(args, io);
}

import { normalizeDomain } from '../config/domain.js';
import { isQueueId } from '../queue/queueId.js';
import { UsageError } from './args.js';

export type RetryTarget = { kind: 'id'; id: string } | { kind: 'all' } | { kind: 'domain'; domain: string };

/** One `tlsrelay queue …` invocation, checked before the config or the spool is touched. */
export type QueueRequest =
  | { action: 'list'; domain: string | undefined; json: boolean }
  | { action: 'show'; id: string; json: boolean }
  | { action: 'retry'; target: RetryTarget }
  | { action: 'delete'; id: string; silent: boolean }
  | { action: 'hold'; id: string }
  | { action: 'release'; id: string };

type Action = QueueRequest['action'];

export const QUEUE_OPTIONS = {
  json: { type: 'boolean' },
  domain: { type: 'string' },
  all: { type: 'boolean' },
  silent: { type: 'boolean' },
} as const;

interface QueueValues {
  json?: boolean;
  domain?: string;
  all?: boolean;
  silent?: boolean;
}

/** The options each action takes: any other is a usage error, never silently ignored. */
const TAKES: Record<Action, ReadonlyArray<keyof QueueValues>> = {
  list: ['json', 'domain'],
  show: ['json'],
  retry: ['all', 'domain'],
  delete: ['silent'],
  hold: [],
  release: [],
};

function isAction(name: string): name is Action {
  return Object.hasOwn(TAKES, name);
}

export function parseQueueRequest(positionals: string[], values: QueueValues): QueueRequest {
  const [action, ...operands] = positionals;
  if (action === undefined) throw new UsageError(`missing subcommand: ${Object.keys(TAKES).join(', ')}`);
  if (!isAction(action)) throw new UsageError(`unknown subcommand "${action}"`);
  for (const option of Object.keys(QUEUE_OPTIONS) as Array<keyof QueueValues>) {
    if (values[option] !== undefined && !TAKES[action].includes(option)) throw new UsageError(`queue ${action} does not take --${option}`);
  }
  switch (action) {
    case 'list':
      noOperands(action, operands);
      return { action, domain: values.domain === undefined ? undefined : domainOption(values.domain), json: values.json === true };
    case 'show':
      return { action, id: queueIdOperand(action, operands), json: values.json === true };
    case 'retry':
      return { action, target: retryTarget(operands, values) };
    case 'delete':
      return { action, id: queueIdOperand(action, operands), silent: values.silent === true };
    case 'hold':
    case 'release':
      return { action, id: queueIdOperand(action, operands) };
  }
}

function retryTarget(operands: string[], values: QueueValues): RetryTarget {
  const given = [operands.length > 0, values.all === true, values.domain !== undefined].filter(Boolean).length;
  // Exactly one of them: with --all or --domain there is no ID operand.
  if (given !== 1) throw new UsageError('queue retry takes one of: ID, --all, --domain D');
  if (values.all) return { kind: 'all' };
  if (values.domain !== undefined) return { kind: 'domain', domain: domainOption(values.domain) };
  return { kind: 'id', id: queueIdOperand('retry', operands) };
}

function noOperands(action: Action, operands: string[]): void {
  if (operands.length > 0) throw new UsageError(`queue ${action}: unexpected argument "${operands[0]}"`);
}

function queueIdOperand(action: Action, operands: string[]): string {
  const [given, ...extra] = operands;
  if (given === undefined) throw new UsageError(`queue ${action} needs a queue ID`);
  if (extra.length > 0) throw new UsageError(`queue ${action}: unexpected argument "${extra[0]}"`);
  // IDs are written in lower case; one copied from a log in upper case is the same ID.
  const id = given.toLowerCase();
  if (!isQueueId(id)) throw new UsageError(`"${given}" is not a queue ID (24 hex digits)`);
  return id;
}

function domainOption(text: string): string {
  const domain = normalizeDomain(text);
  if (domain === undefined) throw new UsageError(`--domain "${text}" is not a domain name`);
  return domain;
}

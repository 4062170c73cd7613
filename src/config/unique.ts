import type { Node } from 'yaml';
import { fail, type Field } from './reader.js';

/** Remembers the first place of each value (a name, a domain) and reports every repeat. */
export class FirstOccurrences {
  private readonly first = new Map<string, { line: number; owner: string | undefined }>();

  constructor(private readonly what: string) {}

  /** `owner` names what the value belongs to, e.g. the connector a domain is routed by. */
  claim(field: Field, place: Node | undefined, value: string, owner?: string): void {
    const seen = this.first.get(value);
    if (!seen) {
      this.first.set(value, { line: field.ctx.issues.lineOf(place), owner });
      return;
    }
    const whose = seen.owner === undefined ? '' : ` (${seen.owner})`;
    fail(field, place, `${this.what} "${value}" is already used at line ${seen.line}${whose}`);
  }
}

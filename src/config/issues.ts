import type { LineCounter, Node } from 'yaml';
import type { ConfigIssue } from './errors.js';

/**
 * Collects problems with their line:col; a missing node means the file as a whole (1:1).
 * Warnings are kept apart: they do not make the file invalid.
 */
export class Issues {
  private readonly found: ConfigIssue[] = [];
  private readonly cautions: ConfigIssue[] = [];

  constructor(
    private readonly file: string,
    private readonly lineCounter: LineCounter,
  ) {}

  add(place: Node | undefined, message: string): void {
    this.addAtOffset(place?.range?.[0] ?? 0, message);
  }

  addAtOffset(offset: number, message: string): void {
    this.found.push(this.at(offset, message));
  }

  warn(place: Node | undefined, message: string): void {
    this.cautions.push(this.at(place?.range?.[0] ?? 0, message));
  }

  private at(offset: number, message: string): ConfigIssue {
    const { line, col } = this.lineCounter.linePos(offset);
    return { file: this.file, line, col, message };
  }

  /** `FILE:LINE:COL` of a node: for problems found later, when what it names is read (certificate files). */
  where(place: Node | undefined): string {
    const { line, col } = this.lineCounter.linePos(place?.range?.[0] ?? 0);
    return `${this.file}:${line}:${col}`;
  }

  lineOf(place: Node | undefined): number {
    return this.lineCounter.linePos(place?.range?.[0] ?? 0).line;
  }

  get count(): number {
    return this.found.length;
  }

  /** In file order, so the list reads top to bottom like the file. */
  sorted(): ConfigIssue[] {
    return inFileOrder(this.found);
  }

  warnings(): ConfigIssue[] {
    return inFileOrder(this.cautions);
  }
}

const inFileOrder = (issues: ConfigIssue[]): ConfigIssue[] => [...issues].sort((a, b) => a.line - b.line || a.col - b.col);

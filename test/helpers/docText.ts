// What the documentation shows, for tests that run it as written: README's sections and
// code blocks, adapted to a test only by an explicit list of substitutions. Each one must
// match exactly once, so a README (or example config) whose text changes fails its test
// instead of being quietly tested in some other shape.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './relayProcess.js';

/** One adaptation: the exact text as documented, and what the test puts there instead. */
export type Substitution = readonly [documented: string, adapted: string];

/**
 * The text of README from `heading` (e.g. '### Forced TLS with a partner') up to the next
 * heading of any level; a `#` line inside a code block is a shell comment, not a heading.
 */
export function readmeSection(heading: string): string {
  const lines = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8').split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const section: string[] = [];
  let inCode = false;
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('```')) inCode = !inCode;
    else if (!inCode && /^#{1,6} /.test(line)) break;
    section.push(line);
  }
  return section.join('\n');
}

/** The contents of the fenced blocks of `language` in `text`, in order. */
export function fencedBlocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\``, 'gm'))].map((match) => match[1]!);
}

/** The one fenced block of `language` in README's section `heading`. */
export function readmeBlock(heading: string, language: string): string {
  const blocks = fencedBlocks(readmeSection(heading), language);
  if (blocks.length !== 1) throw new Error(`README section "${heading}" has ${blocks.length} ${language} blocks, the test expects one`);
  return blocks[0]!;
}

/** `text` with every substitution made; throws unless each documented text occurs exactly once. */
export function substitute(text: string, substitutions: readonly Substitution[]): string {
  let result = text;
  for (const [documented, adapted] of substitutions) {
    const occurrences = result.split(documented).length - 1;
    if (occurrences !== 1) throw new Error(`expected the documented text ${JSON.stringify(documented)} exactly once, found it ${occurrences} times: the documentation changed, so must its test`);
    result = result.replace(documented, () => adapted);
  }
  return result;
}

import { accessSync, constants, statSync } from 'node:fs';

export type FileCheck = { state: 'readable' } | { state: 'missing' } | { state: 'unusable'; reason: string };

/** Whether a configured file can be read now. Contents are the tls room's business. */
export function checkFile(path: string): FileCheck {
  try {
    if (!statSync(path).isFile()) return { state: 'unusable', reason: `${path} is not a regular file` };
    accessSync(path, constants.R_OK);
    return { state: 'readable' };
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    return code === 'ENOENT' ? { state: 'missing' } : { state: 'unusable', reason: message };
  }
}

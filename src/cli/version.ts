import { readFileSync } from 'node:fs';

/**
 * The version in package.json, which sits one folder above this file's folder both in
 * src/ and in the built dist/ — in a checkout and in an installed package alike.
 */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

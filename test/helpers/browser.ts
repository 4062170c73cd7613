// A real browser for page tests: Debian's chromium, headless, driven by puppeteer-core
// (which downloads no browser of its own). A test that needs it skips with a reason when
// it is missing, and fails under CI=true (tools.ts).
import { spawnSync } from 'node:child_process';
import { launch, type Browser } from 'puppeteer-core';
import { needsTool } from './tools.js';

export const CHROMIUM = 'chromium';

export function needsChromium(): { skip?: string } {
  return needsTool(CHROMIUM, 'apt-get install chromium');
}

/** Headless chromium; the caller closes it. */
export function openBrowser(): Promise<Browser> {
  const executablePath = spawnSync('sh', ['-c', `command -v ${CHROMIUM}`], { encoding: 'utf8' }).stdout.trim();
  return launch({
    executablePath,
    headless: true,
    // tests run as root, where chromium's sandbox refuses to start; /dev/shm may be small in containers
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

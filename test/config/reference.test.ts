// docs/configuration.md is what the key table makes; `npm run docs` writes it.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { referencePage } from '../../src/config/reference.js';
import { PROJECT_ROOT } from '../helpers/relayProcess.js';

t.test('docs/configuration.md is the page the key table makes (run `npm run docs` after changing src/config/keys.ts)', async (t) => {
  t.equal(readFileSync(join(PROJECT_ROOT, 'docs', 'configuration.md'), 'utf8'), referencePage());
});


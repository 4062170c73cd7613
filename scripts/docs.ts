// `npm run docs`: writes the views of the key table (src/config/keys.ts) that are kept in
// the repository. test/config/reference.test.ts and schema.test.ts fail while they differ.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { referencePage } from '../src/config/reference.js';
import { configSchemaText } from '../src/config/schema.js';

const root = join(import.meta.dirname, '..');
writeFileSync(join(root, 'docs', 'configuration.md'), referencePage());
writeFileSync(join(root, 'config', 'tlsrelay.schema.json'), configSchemaText());

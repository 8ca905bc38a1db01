import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderOpenApi } from '../src/openapi.js';

/** `npm run openapi`: writes the contract the code serves to openapi/openapi.json. */
const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'openapi', 'openapi.json');
writeFileSync(target, await renderOpenApi());
console.log(`wrote ${target}`);

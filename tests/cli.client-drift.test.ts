import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the CLI client is generated from the committed contract', () => {
  it('cli/api.d.ts is what openapi-typescript makes of openapi/openapi.json (run `npm run client` after `npm run openapi`)', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'quarry-client-')), 'api.d.ts');
    execFileSync(process.execPath, [join(root, 'node_modules/openapi-typescript/bin/cli.js'), join(root, 'openapi/openapi.json'), '-o', out], { stdio: 'pipe' });
    expect(readFileSync(join(root, 'cli/api.d.ts'), 'utf8')).toBe(readFileSync(out, 'utf8'));
  });

  it('is the package bin, with the generator and the runtime pinned exactly', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.bin.quarry).toBe('bin/quarry.js');
    expect(pkg.dependencies['openapi-fetch']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.devDependencies['openapi-typescript']).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

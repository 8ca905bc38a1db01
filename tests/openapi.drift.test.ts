import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderOpenApi } from '../src/openapi.js';

describe('the committed OpenAPI contract', () => {
  it('matches what the code serves (run `npm run openapi` after changing a route)', async () => {
    const committed = readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8');
    const served = await renderOpenApi();
    expect(JSON.parse(served)).toEqual(JSON.parse(committed));
    expect(served).toBe(committed);
  });

  it('documents every route with an operationId, a tag and its error responses', async () => {
    const doc = JSON.parse(await renderOpenApi());
    const operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, op })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(14);
    for (const { path, method, op } of operations) {
      expect(op.operationId, `${method} ${path}`).toBeTruthy();
      expect(op.tags?.length, `${method} ${path}`).toBeGreaterThan(0);
      if (path.startsWith('/v1/')) expect(Object.keys(op.responses), `${method} ${path}`).toContain('401');
    }
    // One variant per task (tests/generate.contract.test.ts checks their fields); qa takes documents.
    expect(doc.paths['/v1/generate'].post.requestBody.content['application/json'].schema.anyOf[0].properties.documents).toBeDefined();
  });
});

import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, storedCounts, type Harness } from './support/harness.js';
import { MCP_TOOL_SERVER_TOOLS, startHttpToolApi, startMcpToolServer, type HttpToolApi, type McpToolServer } from './support/tool-servers.js';
import { checkKept, finished, generate, HDF5, records } from './support/tools-generate.js';

describe.each(DATABASES)('POST /v1/tools/generate: real execution over http and mcp (%s)', (db) => {
  let h: Harness;
  let api: HttpToolApi;
  let mcp: McpToolServer;
  beforeAll(async () => {
    [api, mcp] = await Promise.all([startHttpToolApi(), startMcpToolServer()]);
    h = await startHarness({ db, fake: { latencyMs: 2 }, env: { TOOLS_HTTP_ALLOW: `${api.baseUrl},${mcp.url}` } });
  });
  afterAll(async () => {
    await h?.close();
    await Promise.all([api?.close(), mcp?.close()]);
  });

  it('http: OpenAPI operations really called; their responses are the results, a 4xx rejects at the execution stage', async () => {
    const before = api.requests.length;
    const res = await generate(h, { tools: api.openapi, mode: 'single', per_tool: 3, min_per_tool: 0, execution: { mode: 'http', headers: { 'X-Api-Key': 'k-secret' } }, semantic_check: { threshold: 0 }, regenerate: 3 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const run = await finished(h, res.body.run.id);
    expect(run.status).toBe('succeeded');
    expect(JSON.stringify(run.spec)).not.toContain('k-secret');
    const kept = await records(h, run.output.dataset_id);
    const rejected = await records(h, run.output.rejected_dataset_id);
    const real = api.requests.slice(before).filter((r) => r.path.startsWith('/v1/'));
    expect(real.length).toBeGreaterThan(0);
    expect(real.every((r) => r.headers['x-api-key'] === 'k-secret')).toBe(true);
    expect(kept.length).toBeGreaterThan(0);
    for (const r of kept) {
      checkKept(r);
      expect(r.data.verification.execution).toMatchObject({ passed: true, mode: 'http' });
      for (const c of r.data.steps.flatMap((s: any) => s.calls)) {
        if (c.tool === 'searchProducts') expect(c.result).toMatchObject({ items: expect.any(Array), total: expect.any(Number) });
      }
    }
    // getOrder with an order id the teacher made up: the API answers 404, which is final.
    expect(rejected.some((x) => x.data.rejected_stage === 'execution' && x.data.tools_used.includes('getOrder'))).toBe(true);
    for (const r of rejected.filter((x) => x.data.rejected_stage === 'execution')) expect(r.data.rejected_reason).toMatch(/4\d\d|not found|No such/i);
    expect(run.output.report.execution).toBe('http');
  });

  it('mcp: tools called on the MCP server; its structured results are the results', async () => {
    const before = mcp.calls.length;
    const res = await generate(h, {
      tools: { tools: MCP_TOOL_SERVER_TOOLS },
      mode: 'single',
      per_tool: 3,
      min_per_tool: 0,
      execution: { mode: 'mcp', mcp_url: mcp.url },
      semantic_check: { threshold: 0 },
      regenerate: 3,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const run = await finished(h, res.body.run.id);
    expect(run.status).toBe('succeeded');
    expect(mcp.calls.length).toBeGreaterThan(before);
    const kept = await records(h, run.output.dataset_id);
    expect(kept.length).toBeGreaterThan(0);
    for (const r of kept) {
      checkKept(r);
      expect(r.data.verification.execution).toMatchObject({ passed: true, mode: 'mcp' });
      for (const c of r.data.steps.flatMap((s: any) => s.calls)) {
        expect(mcp.calls).toContainEqual({ name: c.tool, arguments: c.args });
        if (c.tool === 'list_notes') expect(c.result).toMatchObject({ notes: expect.any(Array) });
      }
    }
  });

  it.each([
    [{ execution: { mode: 'http', base_url: 'http://127.0.0.1:9/v1' } }, 'execution.base_url'],
    [{ execution: { mode: 'http', base_url: 'http://169.254.169.254/latest' } }, 'execution.base_url'],
    [{ execution: { mode: 'mcp', mcp_url: 'http://127.0.0.1:9/mcp' } }, 'execution.mcp_url'],
  ])('a URL outside TOOLS_HTTP_ALLOW is a 400 at request time: %j', async (extra, field) => {
    const before = await storedCounts(h);
    const res = await request(h.url).post('/v1/tools/generate').send({ tools: api.openapi, target_examples: 2, ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(await storedCounts(h)).toEqual(before);
  });

  it('http: a document whose server is not allow-listed is a 400, and so are tools that are not OpenAPI operations', async () => {
    const elsewhere = { ...api.openapi, servers: [{ url: 'https://shop.example.com/v1' }] };
    const a = await request(h.url).post('/v1/tools/generate').send({ tools: elsewhere, target_examples: 2, execution: { mode: 'http' } }).expect(400);
    expect(a.body.error.details[0].field).toBe('execution.base_url');
    const b = await request(h.url).post('/v1/tools/generate').send({ tools: HDF5, target_examples: 2, execution: { mode: 'http', base_url: api.baseUrl } }).expect(400);
    expect(b.body.error.details[0]).toMatchObject({ field: 'execution.mode', message: expect.stringContaining('open_file') });
  });
});

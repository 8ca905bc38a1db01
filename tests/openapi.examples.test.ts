import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

/**
 * Every request example of the committed contract, sent as it is — what Swagger UI's "Try it out"
 * sends — must be accepted, and a run it starts must succeed (with the fake teacher as the default
 * provider). Every JSON request body must carry an example, so Swagger UI never makes one up from
 * the schema (for a union of sources it fills them all, which no request may do).
 */
type Media = { schema: unknown; example?: unknown; examples?: Record<string, { summary?: string; value: unknown }> };
type Operation = { operationId: string; requestBody?: { content: Record<string, Media> }; responses: Record<string, unknown> };

const contract = JSON.parse(readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, Operation>> };

const operations = Object.entries(contract.paths).flatMap(([path, methods]) =>
  Object.entries(methods).flatMap(([method, op]) => (op.requestBody ? [{ path, method: method.toUpperCase(), op, content: op.requestBody.content }] : [])),
);

/** Dataset ids an example may name (a fresh database has no datasets): the suite imports one for each. */
const EXAMPLE_DATASETS = ['ds_000000000000000000000001', 'ds_000000000000000000000002'];
const withDatasets = (body: string, ids: Map<string, string>) => body.replace(/ds_0{23}[12]/g, (id) => ids.get(id) ?? id);

const cases = operations.flatMap(({ path, method, op, content }) =>
  Object.entries(content).flatMap(([type, media]) =>
    Object.entries(media.examples ?? (media.example === undefined ? {} : { example: { value: media.example } })).map(([name, example]) => ({
      label: `${op.operationId} ${type} ${name}`,
      path,
      method,
      type,
      value: example.value,
      success: Object.keys(op.responses).filter((s) => /^2\d\d$/.test(s)).map(Number),
    })),
  ),
);

describe('the contract’s request examples', () => {
  it('every operation that takes a JSON body shows at least one example of it', () => {
    expect(operations.length).toBeGreaterThanOrEqual(7);
    const without = operations.filter((o) => o.content['application/json'] && !o.content['application/json'].examples && o.content['application/json'].example === undefined);
    expect(without.map((o) => `${o.method} ${o.path}`)).toEqual([]);
    // Each other media type a route takes shows one too (YAML, JSONL).
    const typesWithout = operations.flatMap((o) => Object.entries(o.content).filter(([, m]) => !m.examples && m.example === undefined).map(([t]) => `${o.method} ${o.path} ${t}`));
    expect(typesWithout).toEqual([]);
  });

  describe.each(DATABASES)('sent as they are (%s)', (db) => {
    let h: Harness;
    /** Examples that read datasets name these placeholders; each becomes a dataset the suite imports first. */
    const datasets = new Map(EXAMPLE_DATASETS.map((id) => [id, id]));
    beforeAll(async () => {
      h = await startHarness({ db, fake: { latencyMs: 1 } });
      for (const [i, placeholder] of EXAMPLE_DATASETS.entries()) {
        const records = Array.from({ length: 12 }, (_, n) => ({ question: `How does step ${n} of process ${i} work?`, answer: `Step ${n} of process ${i} checks its input, then writes its output.`, source: `guide-${n % 3}.md` }));
        const res = await fetch(`${h.url}/v1/datasets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `example ${i + 1}`, records }) });
        datasets.set(placeholder, ((await res.json()) as { dataset: { id: string } }).dataset.id);
      }
    });
    afterAll(() => h?.close());

    // A route on one resource (a run's retry) needs that resource first: its examples are sent by its own tests (tests/budget.test.ts).
    it.each(cases.filter((c) => !c.path.includes('{')).map((c) => [c.label, c] as const))('%s', async (_label, c) => {
      const res = await fetch(`${h.url}${c.path}`, {
        method: c.method,
        headers: { 'content-type': c.type },
        body: withDatasets(typeof c.value === 'string' ? c.value : JSON.stringify(c.value), datasets),
      });
      const body = (await res.json()) as { run?: { id: string }; error?: unknown };
      expect(c.success, JSON.stringify(body)).toContain(res.status);
      if (!body.run) return;
      // The run it started ends well, writes records, and every link it offers answers.
      const { run } = await fetch(`${h.url}/v1/runs/${body.run.id}`, { headers: { prefer: 'wait=60' } }).then((r) => r.json());
      expect(run.status, JSON.stringify({ error: run.error, report: run.output.report })).toBe('succeeded');
      let written = 0;
      for (const [name, link] of Object.entries(run.links as Record<string, string>)) {
        if (name === 'events' || name === 'ws') continue;
        const res = await fetch(`${h.url}${link}`);
        const text = await res.text();
        expect(res.status, `${name} ${link}: ${text.slice(0, 300)}`).toBe(200);
        if (name === 'dataset' || name === 'rejected' || name === 'topics') written += Number(JSON.parse(text).dataset?.record_count ?? JSON.parse(text).topics?.nodes?.length ?? 0);
      }
      // A run that writes no dataset has its result in the report (compare) or in files (export).
      if (run.links.files) expect(run.output.files).toBeGreaterThan(0);
      else if (!run.links.dataset) expect(run.output.report?.decision, JSON.stringify(run.output.report)).toBeDefined();
      else expect(written).toBeGreaterThan(0);
    });
  });
});

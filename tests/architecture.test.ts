import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cruise } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';
import { JOB_MODULES, jobEndpoints, pipelineStages } from '../services/registry.js';
import { STAGES } from '../services/pipelines/pipeline.spec.js';

const PRODUCT = ['src', 'services', 'db', 'routes'];
const MAX_LINES = 300;

function productFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'migrations' ? [] : productFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('architecture', () => {
  const files = PRODUCT.flatMap(productFiles);

  it('has no import cycles and no layer breaks (dependency-cruiser, .dependency-cruiser.cjs)', async () => {
    const config = createRequire(import.meta.url)('../.dependency-cruiser.cjs');
    const result = await cruise(PRODUCT, { validate: true, ruleSet: { forbidden: config.forbidden }, ...config.options });
    const output = typeof result.output === 'string' ? undefined : result.output;
    const violations = (output?.summary.violations ?? []).map((v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (${v.cycle.map((c) => c.name).join(' → ')})` : ''}`);
    expect(output?.summary.totalCruised).toBeGreaterThan(100);
    expect(violations).toEqual([]);
  }, 60_000);

  it('casts no task payload: payload types come from the task kinds’ schemas', () => {
    const code = (f: string) => readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    const casts = files.filter((f) => /payload\)?\s+as\s/.test(code(f)));
    expect(casts).toEqual([]);
  });

  it(`keeps every product file under ${MAX_LINES} lines`, () => {
    const long = files.map((f) => ({ f, lines: readFileSync(f, 'utf8').split('\n').length })).filter((x) => x.lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it('derives every job kind from the registry: unique task kinds, one endpoint each, every pipeline stage has a module', () => {
    const kinds = JOB_MODULES.flatMap((m) => m.tasks.map((t) => t.kind));
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(kinds).toEqual(expect.arrayContaining(['generate.qa', 'topics.expand', 'enrich.batch', 'curate.judge', 'pipeline.advance', 'knowledge.qa']));
    const paths = jobEndpoints().map((e) => e.path);
    expect(new Set(paths).size).toBe(paths.length);
    expect(Object.keys(pipelineStages()).sort()).toEqual([...STAGES].sort());
  });

  it('plans only task kinds a worker can run: a planned payload is checked against its schema', async () => {
    const { qaTask } = await import('../services/generate/qa.task.js');
    expect(() => qaTask.plan('k', { chunk: { chunk_id: 'c', content: 'x', source: 's', section_path: [] }, pairs: 0, llm: {} })).toThrow(/pairs/);
    const planned = qaTask.plan('k', { chunk: { chunk_id: 'c', content: 'x', source: 's', section_path: [] }, pairs: 2, llm: {} }, 4);
    expect(planned).toMatchObject({ key: 'k', kind: 'generate.qa', maxAttempts: 4 });
  });
});

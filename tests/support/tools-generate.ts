import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { expect } from 'vitest';
import { ToolExample } from '../../services/tools/tool-example.js';
import type { Harness } from './harness.js';

/** Helpers of the POST /v1/tools/generate suites: the request, its records, and the check every kept example must pass. */
export const HDF5 = JSON.parse(readFileSync(new URL('../fixtures/tools/hdf5_tools.json', import.meta.url), 'utf8'));
export const HDF5_NAMES: string[] = HDF5.tools.map((t: { name: string }) => t.name);
export const STAGES = ['format', 'execution', 'semantic'];

const ajv = new Ajv.default({ strict: false, allErrors: true });
addFormats.default(ajv);

export type Rec = { key: string; data: any };
export const generate = (h: Harness, body: Record<string, unknown>) => request(h.url).post('/v1/tools/generate').set('Prefer', 'wait=120').send(body);
export async function records(h: Harness, datasetId: string): Promise<Rec[]> {
  const out: Rec[] = [];
  let after: string | undefined;
  for (;;) {
    const page = (await request(h.url).get(`/v1/datasets/${datasetId}/records?limit=1000${after ? `&cursor=${after}` : ''}`).expect(200)).body;
    out.push(...page.records);
    if (!page.next_cursor) return out;
    after = page.next_cursor;
  }
}
export async function finished(h: Harness, runId: string) {
  return (await request(h.url).get(`/v1/runs/${runId}`).set('Prefer', 'wait=120').expect(200)).body.run;
}

/**
 * Every call of a kept example, checked on its own terms: the arguments in the chat (JSON text)
 * are those of the solution, validate against the schema of the tool the record itself carries,
 * and every call's result answers it by id. Returns the calls seen.
 */
export function checkKept(r: Rec): Array<{ tool: string; args: unknown }> {
  expect(Value.Check(ToolExample, r.data), JSON.stringify([...Value.Errors(ToolExample, r.data)].slice(0, 3))).toBe(true);
  const v = r.data.verification;
  expect([v.format.passed, v.execution.passed, v.semantic.passed]).toEqual([true, true, true]);
  const schemas = new Map<string, unknown>(r.data.tools.map((t: any) => [t.function.name, t.function.parameters]));
  const calls = r.data.messages.flatMap((m: any) => (m.role === 'assistant' && m.tool_calls ? m.tool_calls : []));
  const solution = r.data.steps.flatMap((s: any) => s.calls);
  expect(calls.map((c: any) => c.id)).toEqual(solution.map((c: any) => c.id));
  const answered = new Set(r.data.messages.filter((m: any) => m.role === 'tool').map((m: any) => m.tool_call_id));
  return calls.map((c: any, i: number) => {
    const args = JSON.parse(c.function.arguments);
    expect(args).toEqual(solution[i].args);
    expect(c.function.name).toBe(solution[i].tool);
    const schema = schemas.get(c.function.name);
    expect(schema, `${c.function.name} is offered`).toBeDefined();
    const validate = ajv.compile(schema as object);
    expect(validate(args), `${r.key} ${c.function.name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    expect(answered.has(c.id)).toBe(true);
    return { tool: c.function.name, args };
  });
}


const schemaIn = (tools: any[], name: string) => tools.find((t) => t.function?.name === name)?.function.parameters;

/**
 * The kept dataset exported for function-calling trainers: in `openai` (arguments as JSON text),
 * `trl` (arguments as objects) and `xlam` (answers as JSON text), every call of every example is
 * there and its arguments validate against its tool's schema. Returns the calls checked per format.
 */
export async function checkExports(h: Harness, datasetId: string, kept: Rec[]): Promise<Record<string, number>> {
  const total = kept.reduce((n, r) => n + r.data.steps.reduce((m: number, s: any) => m + s.calls.length, 0), 0);
  const checked: Record<string, number> = {};
  for (const format of ['openai', 'trl', 'xlam']) {
    const text = (await request(h.url).get(`/v1/datasets/${datasetId}/export?format=${format}`).expect(200)).text;
    const lines = text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    expect(lines).toHaveLength(kept.length);
    let n = 0;
    lines.forEach((line, i) => {
      const calls: Array<{ name: string; args: unknown; tools: any[] }> =
        format === 'xlam'
          ? JSON.parse(line.answers).map((a: any) => ({ name: a.name, args: a.arguments, tools: kept[i].data.tools }))
          : line.messages.flatMap((m: any) =>
              (m.tool_calls ?? []).map((c: any) => {
                expect(typeof c.function.arguments).toBe(format === 'openai' ? 'string' : 'object');
                return { name: c.function.name, args: format === 'openai' ? JSON.parse(c.function.arguments) : c.function.arguments, tools: line.tools };
              }),
            );
      for (const c of calls) {
        const schema = schemaIn(c.tools, c.name);
        expect(schema, `${format} line ${i}: ${c.name} is offered`).toBeDefined();
        const validate = ajv.compile(schema);
        expect(validate(c.args), `${format} line ${i} ${c.name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
        n++;
      }
    });
    expect(n).toBe(total);
    checked[format] = n;
  }
  return checked;
}

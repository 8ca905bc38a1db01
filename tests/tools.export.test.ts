import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { qaRecord } from './support/record-samples.js';
import { callsIn, EXAMPLE_TOOLS, multiStep, parallelCalls, singleStep, toolNamesIn } from './support/tool-examples.js';

/**
 * Tool-use examples exported for function-calling trainers, through the real API: every format's
 * exact shape (string vs object arguments, `tool_call_id` vs `name`), DeepFabric's tools_strategy,
 * and every call's arguments of every exported file validated against its tool's schema.
 */
const FORMATS = ['openai', 'trl', 'xlam', 'sharegpt', 'chatml', 'messages', 'jsonl'] as const;
type Line = Record<string, any>;

const ajv = new Ajv.default({ allErrors: true, strict: false });
addFormats.default(ajv);
const validators = new Map(EXAMPLE_TOOLS.map((t) => [t.function.name, ajv.compile(t.function.parameters)]));
/** Qwen2.5-Instruct's chat_template (tokenizer_config.json), a Hermes-style ChatML template with `<tool_call>`. */
const qwen = new Template(readFileSync(new URL('./fixtures/templates/qwen2.5-tools.jinja', import.meta.url), 'utf8'));

describe.each(DATABASES)('exports for function-calling trainers (%s)', (db) => {
  let h: Harness;
  const examples = [singleStep(), multiStep(), parallelCalls()];
  const calls = examples.map((e) => e.steps.flatMap((s) => s.calls));
  let mixed: string;
  let toolsOnly: string;
  const lines = async (id: string, format: string, strategy = 'all'): Promise<Line[]> => {
    const res = await request(h.url).get(`/v1/datasets/${id}/export?format=${format}&tools_strategy=${strategy}`).expect(200);
    return res.text.trim().split('\n').map((l) => JSON.parse(l));
  };
  const importRecords = async (name: string, records: unknown[]) =>
    (await request(h.url).post(`/v1/datasets?name=${name}`).set('content-type', 'application/x-ndjson').send(records.map((r) => JSON.stringify(r)).join('\n')).expect(201)).body.dataset.id as string;

  beforeAll(async () => {
    h = await startHarness({ db });
    mixed = await importRecords('mixed', [...examples, qaRecord]);
    toolsOnly = await importRecords('tools', examples);
  });
  afterAll(() => h?.close());

  it('openai: arguments as JSON text, ids matched by tool_call_id, no Quarry-only keys, tools top-level', async () => {
    const out = await lines(mixed, 'openai');
    expect(out).toHaveLength(4);
    expect(out[0]).toEqual({
      messages: [
        { role: 'system', content: 'You can call the tools given.' },
        { role: 'user', content: 'Open /data/run1.h5 read-only.' },
        { role: 'assistant', tool_calls: [{ id: calls[0][0].id, type: 'function', function: { name: 'open_file', arguments: '{"path":"/data/run1.h5","mode":"r"}' } }] },
        { role: 'tool', tool_call_id: calls[0][0].id, content: '{"opened":true}' },
        { role: 'assistant', content: 'The file is open.' },
      ],
      tools: EXAMPLE_TOOLS,
    });
    expect(out[3]).toEqual({ messages: [{ role: 'user', content: qaRecord.question }, { role: 'assistant', content: qaRecord.answer }] });
    out.slice(0, 3).forEach((line, i) => {
      expect(Object.keys(line).every((k) => ['messages', 'tools', 'parallel_tool_calls'].includes(k))).toBe(true);
      expect(line.parallel_tool_calls).toBe(i === 0 ? undefined : true);
      const ids: string[] = [];
      for (const m of line.messages) {
        expect(Object.keys(m).every((k) => ['role', 'content', 'tool_calls', 'tool_call_id', 'weight'].includes(k))).toBe(true);
        for (const c of m.tool_calls ?? []) {
          expect(c).toEqual({ id: expect.any(String), type: 'function', function: { name: expect.any(String), arguments: expect.any(String) } });
          ids.push(c.id);
        }
        if (m.role === 'tool') expect(ids).toContain(m.tool_call_id);
      }
      expect(ids).toEqual(calls[i].map((c) => c.id));
      expect(callsIn('openai', line).map((c) => ({ name: c.name, args: JSON.parse(String(c.args)) }))).toEqual(calls[i].map((c) => ({ name: c.tool, args: c.args })));
    });
    // An assistant turn with text beside its calls keeps it; one that only calls has no content key.
    expect(out[1].messages[2]).toMatchObject({ role: 'assistant', content: 'Open the file first.' });
    expect(out[1].messages[0]).toEqual({ role: 'system', content: 'You can read HDF5 files with the tools given.' });
  });

  it('trl: arguments as objects, tool turns carry the name of the function they answer and no tool_call_id', async () => {
    const out = await lines(mixed, 'trl');
    expect(out[3]).toEqual({ messages: [{ role: 'user', content: qaRecord.question }, { role: 'assistant', content: qaRecord.answer }] });
    expect(out[0]).toEqual({
      messages: [
        { role: 'system', content: 'You can call the tools given.' },
        { role: 'user', content: 'Open /data/run1.h5 read-only.' },
        { role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'open_file', arguments: { path: '/data/run1.h5', mode: 'r' } } }] },
        { role: 'tool', name: 'open_file', content: '{"opened":true}' },
        { role: 'assistant', content: 'The file is open.' },
      ],
      tools: EXAMPLE_TOOLS,
    });
    out.slice(0, 3).forEach((line, i) => {
      expect(callsIn('trl', line)).toEqual(calls[i].map((c) => ({ name: c.tool, args: c.args })));
      const tools = line.messages.filter((m: Line) => m.role === 'tool');
      expect(tools.map((m: Line) => m.name)).toEqual(calls[i].map((c) => c.tool));
      expect(tools.every((m: Line) => !('tool_call_id' in m))).toBe(true);
      expect(line.messages.flatMap((m: Line) => m.tool_calls ?? []).every((c: Line) => !('id' in c))).toBe(true);
    });
  });

  it('xlam: the query, the tools and every call as JSON text; a record without tool calls is a 422 before the first byte', async () => {
    const refused = await request(h.url).get(`/v1/datasets/${mixed}/export?format=xlam`).expect(422);
    expect(refused.body.error.details.map((d: Line) => d.field)).toEqual(['format', 'records.import#3']);
    expect(refused.body.error.message).toMatch(/^1 record cannot be rendered as xlam: records\.import#3 is not a tool-call conversation/);
    const out = await lines(toolsOnly, 'xlam');
    expect(out.map((l) => l.query)).toEqual(examples.map((e) => e.instruction));
    out.forEach((line, i) => {
      expect(Object.keys(line).sort()).toEqual(['answers', 'query', 'tools']);
      expect(JSON.parse(line.answers)).toEqual(calls[i].map((c) => ({ name: c.tool, arguments: c.args })));
    });
    expect(JSON.parse(out[0].tools)).toEqual([
      { name: 'open_file', description: EXAMPLE_TOOLS[0].function.description, parameters: { path: { description: 'Path to the HDF5 file', type: 'str' }, mode: { description: "Access mode: 'r', 'r+', 'w', 'a'", type: 'str, optional', default: 'r' } } },
      { name: 'read_full_dataset', description: EXAMPLE_TOOLS[1].function.description, parameters: { path: { description: 'Path to the dataset', type: 'str' } } },
      {
        name: 'get_attributes',
        description: 'Read the attributes of a group or dataset.',
        parameters: {
          path: { description: 'Path inside the file', type: 'str' },
          names: { description: 'Only these attributes', type: 'List[str], optional' },
          limit: { description: 'At most this many', type: 'int, optional', default: 10 },
          format: { description: 'How values are written', type: 'str' },
        },
      },
    ]);
  });

  it('sharegpt: function_call and observation turns in LLaMA-Factory positions, tools as JSON text', async () => {
    const [single, multi] = await lines(toolsOnly, 'sharegpt');
    expect(single).toEqual({
      conversations: [
        { from: 'human', value: 'Open /data/run1.h5 read-only.' },
        { from: 'function_call', value: '{"name":"open_file","arguments":{"path":"/data/run1.h5","mode":"r"}}' },
        { from: 'observation', value: '{"opened":true}' },
        { from: 'gpt', value: 'The file is open.' },
      ],
      system: 'You can call the tools given.',
      tools: JSON.stringify(EXAMPLE_TOOLS.map((t) => t.function)),
    });
    // Human and observation turns odd (1-based), gpt and function_call even.
    expect(multi.conversations.map((t: Line) => t.from)).toEqual(['human', 'function_call', 'observation', 'function_call', 'observation', 'gpt']);
    // Parallel results share one observation turn, each in its own <tool_response> once LLaMA-Factory's template wraps it.
    expect(multi.conversations[4].value).toBe('[291.2,291.8,292.5]\n</tool_response>\n<tool_response>\n[0,1,2]');
    expect(multi.system).toBe('You can read HDF5 files with the tools given.');
  });

  it('tools_strategy: used_only keeps the schemas of the functions called, all keeps every one offered, in every format', async () => {
    for (const format of FORMATS.filter((f) => f !== 'jsonl')) {
      const all = await lines(toolsOnly, format);
      const used = await lines(toolsOnly, format, 'used_only');
      examples.forEach((e, i) => {
        expect(toolNamesIn(format, all[i])).toEqual(EXAMPLE_TOOLS.map((t) => t.function.name));
        expect(toolNamesIn(format, used[i])).toEqual(EXAMPLE_TOOLS.map((t) => t.function.name).filter((n) => e.tools_used.includes(n)));
        expect(callsIn(format, used[i])).toEqual(callsIn(format, all[i]));
      });
    }
    expect(toolNamesIn('openai', (await lines(toolsOnly, 'openai', 'used_only'))[0])).toEqual(['open_file']);
    // jsonl writes the records as stored, whatever the strategy.
    expect((await lines(toolsOnly, 'jsonl', 'used_only'))[0].tools).toEqual(EXAMPLE_TOOLS);
    await request(h.url).get(`/v1/datasets/${toolsOnly}/export?format=openai&tools_strategy=some`).expect(400);
  });

  it('every tool call of every exported file validates against its tool’s schema (all lines, both strategies)', async () => {
    expect(validators.get('get_attributes')!({ path: '/x', format: 'xml' })).toBe(false);
    const expected = calls.flat().length;
    for (const format of FORMATS) {
      for (const strategy of ['all', 'used_only']) {
        const out = await lines(toolsOnly, format, strategy);
        let checked = 0;
        for (const line of out) {
          for (const call of callsIn(format, line)) {
            const args = typeof call.args === 'string' ? JSON.parse(call.args) : call.args;
            const validate = validators.get(call.name);
            expect(validate, `${format}: ${call.name} is no tool`).toBeDefined();
            expect(validate!(args), `${format}/${strategy} ${call.name}: ${ajv.errorsText(validate!.errors)}`).toBe(true);
            expect(toolNamesIn(format === 'jsonl' ? 'chatml' : format, line)).toContain(call.name);
            checked += 1;
          }
        }
        expect(checked, `${format}/${strategy}`).toBe(expected);
      }
    }
  });

  it('openai and trl refuse, before the first byte, what a function-calling trainer cannot read', async () => {
    const human = { messages: [{ role: 'human', content: 'hi' }, { role: 'gpt', content: 'hello' }] };
    const badArgs = singleStep();
    badArgs.messages[2] = { role: 'assistant', content: null, tool_calls: [{ id: badArgs.steps[0].calls[0].id, type: 'function', function: { name: 'open_file', arguments: '{"path":' } }] };
    const id = await importRecords('unreadable', [human, badArgs, { conversations: [{ from: 'human', value: 'q' }, { from: 'observation', value: 'r' }] }]);
    for (const format of ['openai', 'trl']) {
      const res = await request(h.url).get(`/v1/datasets/${id}/export?format=${format}`).expect(422);
      expect(res.body.error.details.slice(1)).toEqual([
        { field: 'records.import#0.messages.0.role', message: 'has role "human"; function-calling formats take system, user, assistant and tool' },
        { field: 'records.import#1.messages.2.tool_calls.0.function.arguments', message: 'is not a JSON object' },
        { field: 'records.import#2.conversations.1', message: 'is a tool result that answers no tool call' },
      ]);
    }
    await request(h.url).get(`/v1/datasets/${id}/export?format=chatml`).expect(200);
  });

  it('every openai, trl and messages line renders through Qwen2.5-Instruct’s tool template: tool docs in the system block, each call in <tool_call>, each result in <tool_response>', async () => {
    for (const format of ['openai', 'trl', 'messages']) {
      const out = await lines(mixed, format);
      expect(out).toHaveLength(4);
      out.forEach((line, i) => {
        const text = qwen.render({ messages: line.messages, tools: line.tools, add_generation_prompt: false });
        const system = text.slice(0, text.indexOf('<|im_end|>'));
        const body = text.slice(system.length);
        if (i === 3) {
          expect(system).not.toContain('<tools>');
          expect(body).toContain(`<|im_start|>assistant\n${qaRecord.answer}<|im_end|>`);
          return;
        }
        const docs = system.slice(system.indexOf('<tools>\n') + '<tools>\n'.length, system.indexOf('\n</tools>')).split('\n');
        expect(docs.map((d) => JSON.parse(d))).toEqual(EXAMPLE_TOOLS);
        if (i === 1) expect(system).toMatch(/^<\|im_start\|>system\nYou can read HDF5 files with the tools given\.\n\n# Tools/);
        const rendered = [...body.matchAll(/<tool_call>\n(.*)\n<\/tool_call>/g)].map((m) => JSON.parse(m[1]));
        expect(rendered.map((c) => c.name)).toEqual(calls[i].map((c) => c.tool));
        // The template writes arguments with `tojson`: TRL's objects come out as the object the model
        // is to learn; the JSON text of openai and messages comes out as a JSON string (encoded twice).
        // That is the pitfall of string arguments: openai is for OpenAI, trl for open-weights templates.
        if (format !== 'trl') expect(rendered.every((c) => typeof c.arguments === 'string')).toBe(true);
        expect(rendered.map((c) => (format === 'trl' ? c.arguments : JSON.parse(c.arguments)))).toEqual(calls[i].map((c) => c.args));
        const responses = [...body.matchAll(/<tool_response>\n([\s\S]*?)\n<\/tool_response>/g)].map((m) => m[1]);
        expect(responses).toEqual(calls[i].map((c) => (typeof c.result === 'string' ? c.result : JSON.stringify(c.result))));
        expect(body.endsWith(`<|im_start|>assistant\n${examples[i].final_answer}<|im_end|>\n`)).toBe(true);
      });
    }
  });
});

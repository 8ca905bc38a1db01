import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../src/fake-llm/server.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

const seed = (i: number) => ({
  document: `# Lease recovery ${i}\n\nA worker holds a lease on each task it claims. The heartbeat extends the lease every ten seconds. When a worker dies, its leases expire after thirty seconds and the tasks return to the queue.`,
  document_outline: `Lease recovery ${i}`,
  domain: 'distributed systems',
  icl_document: 'A mutex protects a critical section. Only one thread may hold it.',
  icl_query_1: 'What does a mutex protect?',
  icl_query_2: 'How many threads may hold a mutex?',
  icl_query_3: 'Why is a critical section protected?',
});

/** The columns sdg_hub writes and Red Hat's Step 04 reads, on every record of every flow. */
const COLUMNS = ['document', 'raw_document', 'document_outline', 'domain', 'icl_document', 'icl_query_1', 'icl_query_2', 'icl_query_3', 'question', 'response'];

const body = (r: RecordedRequest) => r.body as { messages: Array<{ role: string; content: string }>; response_format?: { json_schema?: { name: string } } };
const named = (h: Harness, name: string) => h.fake.requests().filter((r) => body(r).response_format?.json_schema?.name === name);
const prompt = (r: RecordedRequest) => body(r).messages.at(-1)!.content;
/** The number of summaries a summary call was answered with. */
const answered = (r: RecordedRequest) => (JSON.parse((r.response as { choices: Array<{ message: { content: string } }> }).choices[0].message.content) as { summaries: string[] }).summaries.length;

describe.each(DATABASES)('knowledge output usable downstream (Step 04) (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());

  const run = async (spec: Record<string, unknown>) => {
    const res = await request(h.url).post('/v1/generate').set('Prefer', 'wait=60').send({ task: 'knowledge', seed_records: [seed(1)], ...spec }).expect(200);
    expect(res.body.run.status).toBe('succeeded');
    return res.body.run;
  };
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records.map((r: any) => r.data);
  const exported = async (id: string, query: string) => {
    const res = await request(h.url).get(`/v1/datasets/${id}/export?${query}`).buffer(true).parse((r, cb) => {
      let text = '';
      r.on('data', (c: Buffer) => (text += c.toString()));
      r.on('end', () => cb(null, text));
    });
    expect(res.status, String(res.body)).toBe(200);
    return (res.body as string).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  };

  it('every flow carries the sdg_hub columns and exports to every chat format, question as user turn, response as assistant turn', async () => {
    h.fake.reset();
    const r = await run({ summaries_per_document: 2, questions_per_context: 2, facts_per_document: 2, pairs_per_fact: 2 });
    const flows = Object.entries(r.output.datasets as Record<string, string>);
    expect(flows).toHaveLength(4);
    for (const [flow, id] of flows) {
      const kept = await records(id);
      expect(kept.length, flow).toBeGreaterThan(0);
      for (const rec of kept) {
        for (const c of COLUMNS) expect(typeof rec[c], `${flow}.${c}`).toBe('string');
        expect(rec).toMatchObject({ raw_document: seed(1).document, document_outline: 'Lease recovery 1', domain: 'distributed systems', icl_query_2: seed(1).icl_query_2 });
        // The summary flows ask about a summary; key facts and document Q&A about the document itself.
        if (flow.endsWith('_summary')) expect(rec.document).toBe(rec.summarized_document);
        else expect(rec.document).toBe(seed(1).document);
      }
      for (const format of ['messages', 'chatml', 'alpaca', 'sharegpt']) {
        const lines = await exported(id, `format=${format}`);
        expect(lines, `${flow} ${format}`).toHaveLength(kept.length);
        lines.forEach((line, i) => {
          const [user, assistant] =
            format === 'alpaca' ? [line.instruction, line.output] : format === 'sharegpt' ? line.conversations.map((t: any) => t.value) : line.messages.map((m: any) => m.content);
          expect(user).toBe(kept[i].question);
          expect(assistant).toBe(kept[i].response);
        });
      }
      // Step 04's keep_document_in_context form, and its form without the document.
      const withDocument = await exported(id, 'format=messages&context=document');
      withDocument.forEach((line, i) => {
        expect(line.messages).toEqual([
          { role: 'user', content: `Lease recovery 1\n${kept[i].document}\n\n${kept[i].question}` },
          { role: 'assistant', content: kept[i].response },
        ]);
      });
      const withOutline = await exported(id, 'format=sharegpt&context=outline');
      expect(withOutline.map((l) => l.conversations[0].value)).toEqual(kept.map((k: any) => `In Lease recovery 1, ${k.question}`));
    }
    const bad = await request(h.url).get(`/v1/datasets/${flows[0][1]}/export?format=messages&context=summary`).expect(400);
    expect(JSON.stringify(bad.body.error)).toContain('context');
  });

  it('summaries_per_document: 50 asks for one summary per call, or summaries_per_call at a time', async () => {
    h.fake.reset();
    const one = await run({ flows: ['extractive_summary'], summaries_per_document: 50, questions_per_context: 1 });
    const calls = named(h, 'summaries');
    expect(calls).toHaveLength(50);
    expect(calls.map(answered)).toEqual(Array(50).fill(1));
    expect(prompt(calls[0])).toContain('of 50 for this document');
    expect(new Set((await records(one.output.datasets.extractive_summary)).map((r: any) => r.document)).size).toBeGreaterThan(1);

    h.fake.reset();
    await run({ flows: ['detailed_summary'], summaries_per_document: 20, summaries_per_call: 8, questions_per_context: 1 });
    expect(named(h, 'summaries').map(answered).sort()).toEqual([4, 8, 8]);
  });

  it('the judge checks the question’s context by default, the raw document when asked, and key-fact answers only when asked', async () => {
    const judgedText = (r: RecordedRequest) => /Document:\n<<<\n([\s\S]*?)\n>>>/.exec(prompt(r))![1];
    h.fake.reset();
    const byDefault = await run({ flows: ['extractive_summary', 'key_facts'], summaries_per_document: 1, questions_per_context: 1, facts_per_document: 1, pairs_per_fact: 2 });
    const summaryRecords = [...(await records(byDefault.output.datasets.extractive_summary)), ...(await records(byDefault.output.rejected_dataset_id))];
    const judged = named(h, 'faithfulness');
    // One judge call, for the summary's question: the key-fact pairs are kept unjudged, as sdg_hub keeps them.
    expect(judged).toHaveLength(1);
    expect(judgedText(judged[0])).toBe(summaryRecords[0].summarized_document);
    expect(judgedText(judged[0])).not.toBe(seed(1).document);
    const facts = await records(byDefault.output.datasets.key_facts);
    expect(facts).toHaveLength(2);
    expect(facts.every((f: any) => !('faithfulness_judgment' in f))).toBe(true);

    h.fake.reset();
    const asked = await run({ flows: ['extractive_summary', 'key_facts'], summaries_per_document: 1, questions_per_context: 1, facts_per_document: 1, pairs_per_fact: 2, judge_against: 'raw_document', judge_key_facts: true });
    expect(named(h, 'faithfulness').map(judgedText)).toEqual([seed(1).document, seed(1).document]);
    const judgedFacts = [...(await records(asked.output.datasets.key_facts)), ...(await records(asked.output.rejected_dataset_id)).filter((r: any) => r.key_fact)];
    expect(judgedFacts).toHaveLength(2);
    expect(judgedFacts.every((f: any) => f.faithfulness_judgment === 'YES' || f.faithfulness_judgment === 'NO')).toBe(true);

    const bad = await request(h.url).post('/v1/generate').send({ task: 'knowledge', seed_records: [seed(1)], judge_against: 'summary' }).expect(400);
    expect(bad.body.error.details.map((d: any) => d.field)).toContain('judge_against');
  });
});

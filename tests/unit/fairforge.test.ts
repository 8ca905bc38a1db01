import { describe, expect, it } from 'vitest';
import type { Database } from '../../db/client.js';
import type { DatasetRow, RecordRow } from '../../db/datasets.repository.js';
import { generatorFields } from '../../services/curate/generator-fields.js';
import { batchNumbering } from '../../services/export/fairforge.js';
import { fairForgeStream } from '../../services/export/fairforge.stream.js';

const options = { assistantId: 'bot', language: 'english' };
// A dataset no run wrote: the stream never asks the database for a run.
const dataset = { id: 'ds_x', owner: 'o', runId: null } as DatasetRow;
const noDatabase = { database: {} as Database };

async function exported(pages: RecordRow[][]) {
  let text = '';
  const keys: string[] = [];
  for await (const piece of fairForgeStream(noDatabase, dataset, async function* () { yield* pages; }, options, (k) => keys.push(k))) text += piece;
  return { datasets: JSON.parse(text), keys };
}

describe('Fair-Forge stream', () => {
  it('writes [] for an empty dataset', async () => {
    expect((await exported([])).datasets).toEqual([]);
  });

  it('joins each chunk text once across pages, and takes a record language when no run set one', async () => {
    const page1: RecordRow[] = [
      { id: 1, key: 'a#0', data: { question: 'q1?', answer: 'a1', chunk_id: 'c1', context: 'Text "one"\nline' } },
      { id: 2, key: 'a#1', data: { question: 'q2?', answer: 'a2', chunk_id: 'c1' } },
    ];
    const page2: RecordRow[] = [
      { id: 3, key: 'b#0', data: { turns: [{ qa_id: 'c2_t1', query: 't1' }], chunk_id: 'c2', context: 'Text two', language: 'español' } },
      { id: 4, key: 'c#0', data: { turns: [{ qa_id: 'c2_t1', query: 't1' }], chunk_id: 'c2', context: 'Text two' } },
    ];
    const { datasets, keys } = await exported([page1, page2]);
    expect(datasets).toHaveLength(1);
    expect(datasets[0]).toMatchObject({ session_id: 'ds_x', assistant_id: 'bot', context: 'Text "one"\nline\n\nText two', language: 'español' });
    expect(datasets[0].conversation.map((b: { qa_id: string }) => b.qa_id)).toEqual(['c1_q1', 'c1_q2', 'c2_t1', 'c2_t1']);
    expect(keys).toEqual(['a#0', 'a#1', 'b#0', 'c#0', 'a#0', 'a#1', 'b#0', 'c#0']);
  });
});

describe('batch numbering', () => {
  it('numbers chat turns per chunk and links each to the one before', () => {
    const batchesOf = batchNumbering();
    const chat = { chunk_id: 7, messages: [{ role: 'user', content: 'u1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'u2' }] };
    expect(batchesOf(chat, 'k').map((b) => [b.qa_id, b.ground_truth_assistant, b.agentic.builds_on ?? null])).toEqual([
      ['7_t1', 'a1', null],
      ['7_t2', '', '7_t1'],
    ]);
    expect(batchesOf(chat, 'k2')[0].qa_id).toBe('7_t3');
  });
});

describe('Generator fields', () => {
  const curation = { rating: 8, clarity: 3, accuracy: 3, usefulness: 1, difficulty: 1, reasoning: 'clear' };
  it('adds every flat field to a conversation, topic_relevant true without a topic', () => {
    expect(generatorFields({ messages: [] }, curation)).toEqual({ rating: 8, clarity: 3, accuracy: 3, usefulness: 1, difficulty: 1, topic_relevant: true, reasoning: 'clear' });
  });
  it('keeps a record’s own fields and replaces what an earlier curation wrote', () => {
    const pair = { question: 'q', answer: 'a', difficulty: 'hard' };
    const once: Record<string, unknown> = { ...pair, ...generatorFields(pair, curation), curation };
    expect(once.difficulty).toBe('hard');
    expect(once.reasoning).toBe('clear');
    const again = generatorFields(once, { ...curation, rating: 5, clarity: 0, topic_relevant: false, reasoning: 'vague' });
    expect(again).toEqual({ rating: 5, clarity: 0, accuracy: 3, usefulness: 1, topic_relevant: false, reasoning: 'vague' });
    // A CoT pair's own steps are never replaced by the judge's words.
    const cot = { question: 'q', answer: 'a', reasoning: ['one', 'two'] };
    expect(generatorFields(cot, curation)).not.toHaveProperty('reasoning');
  });
});

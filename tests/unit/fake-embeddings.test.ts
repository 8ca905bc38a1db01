import { describe, expect, it } from 'vitest';
import { fakeEmbedding, readEmbeddingRequest, stem } from '../../src/fake-llm/embeddings.js';

const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

describe("the fake teacher's embedding model", () => {
  it('scores paraphrases that reorder or re-inflect the words at 0.9 or more', () => {
    const pairs = [
      ['How do task leases work?', 'How does a task lease work?'],
      ['Why are task outcomes committed in batches?', 'Why are the outcomes of tasks committed in a batch?'],
      ['Workers claim tasks from the queue', 'The queue tasks are claimed by the workers'],
    ];
    for (const [a, b] of pairs) expect(cos(fakeEmbedding(a), fakeEmbedding(b)), `${a} | ${b}`).toBeGreaterThanOrEqual(0.9);
  });

  it('scores unrelated questions below 0.3, and related ones in between', () => {
    const lease = fakeEmbedding('How do task leases work?');
    for (const other of ['What is the best recipe for banana bread?', 'Describe how photosynthesis works in plants', 'Which city is the capital of France?']) {
      expect(Math.abs(cos(lease, fakeEmbedding(other))), other).toBeLessThan(0.3);
    }
    const related = cos(fakeEmbedding('How do task leases expire?'), lease);
    expect(related).toBeGreaterThan(0.3);
    expect(related).toBeLessThan(0.9);
  });

  it('reads template labels as no topic: two unrelated Q/A texts stay unrelated', () => {
    const a = fakeEmbedding('Question: How do task leases work?\nAnswer: A worker renews its lease by heartbeat.');
    const b = fakeEmbedding('Question: What is the best recipe for banana bread?\nAnswer: Ripe bananas, flour and butter.');
    expect(Math.abs(cos(a, b))).toBeLessThan(0.3);
  });

  it('is deterministic from the text alone, unit length, and as long as asked', () => {
    const text = 'How do task leases work?';
    expect(fakeEmbedding(text)).toEqual(fakeEmbedding(text));
    expect(fakeEmbedding(text).length).toBe(256);
    expect(fakeEmbedding(text, 64).length).toBe(64);
    expect(Math.hypot(...fakeEmbedding(text, 1536))).toBeCloseTo(1, 6);
    expect(fakeEmbedding('the of and').some((x) => x !== 0)).toBe(true);
  });

  it('stems plurals, -ing and -ed forms onto one stem', () => {
    expect(new Set(['lease', 'leases', 'leased', 'leasing'].map(stem)).size).toBe(1);
    expect(new Set(['work', 'works', 'worked', 'working'].map(stem)).size).toBe(1);
    expect(stem('class')).toBe('class');
  });

  it('checks a request as OpenAI does: model, non-empty string inputs, dimensions, encoding', () => {
    expect(readEmbeddingRequest({ model: 'm', input: 'one' })).toEqual({ model: 'm', input: ['one'], dimensions: 256, base64: false });
    expect(readEmbeddingRequest({ model: 'm', input: ['a', 'b'], dimensions: 32, encoding_format: 'base64' })).toEqual({ model: 'm', input: ['a', 'b'], dimensions: 32, base64: true });
    expect(readEmbeddingRequest({ input: 'x' })).toMatch(/model/);
    expect(readEmbeddingRequest({ model: 'm', input: [] })).toMatch(/input/);
    expect(readEmbeddingRequest({ model: 'm', input: ['ok', ''] })).toMatch(/non-empty/);
    expect(readEmbeddingRequest({ model: 'm', input: [1, 2] })).toMatch(/non-empty/);
    expect(readEmbeddingRequest({ model: 'm', input: 'x', dimensions: 0 })).toMatch(/dimensions/);
  });
});

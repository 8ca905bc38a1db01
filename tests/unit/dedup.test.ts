import { describe, expect, it } from 'vitest';
import { findDuplicates } from '../../services/curate/dedup.js';
import { shingles, signature, similarity } from '../../services/curate/minhash.js';

const jaccard = (a: Set<string>, b: Set<string>) => [...a].filter((x) => b.has(x)).length / new Set([...a, ...b]).size;
const rec = (key: string, question: string, answer = 'Same answer.') => ({ key, data: { question, answer } });

describe('MinHash', () => {
  it('estimates the Jaccard similarity of the shingle sets', () => {
    const pairs = [
      ['How do I install Quarry on Debian Linux?', 'How can I install Quarry on Debian Linux?'],
      ['What port does the service listen on?', 'Which port does the service listen on by default?'],
      ['How do I install Quarry on Debian Linux?', 'What is the capital of France?'],
    ];
    for (const [a, b] of pairs) {
      const exact = jaccard(shingles(a), shingles(b));
      expect(Math.abs(similarity(signature(a), signature(b)) - exact)).toBeLessThan(0.12);
    }
    expect(similarity(signature('same text'), signature('same text'))).toBe(1);
  });
});

describe('findDuplicates', () => {
  const records = [
    rec('a', 'How do I install Quarry on Debian Linux?'),
    rec('b', 'how do I install quarry on debian linux'),
    rec('c', 'How can I install Quarry on Debian Linux?'),
    rec('d', 'What port does the service listen on?', 'Port 3000.'),
    rec('e', 'What is the capital of France?', 'Paris.'),
  ];

  it('drops exact duplicates by normalised text, keeping the first', () => {
    expect(findDuplicates(records, { exact: true })).toEqual([{ key: 'b', reason: 'exact_duplicate', duplicate_of: 'a' }]);
  });

  it('drops near duplicates of the question above the threshold', () => {
    const dups = findDuplicates(records, { exact: true, near: 0.6 });
    expect(dups.map((d) => [d.key, d.reason, d.duplicate_of])).toEqual([
      ['b', 'exact_duplicate', 'a'],
      ['c', 'near_duplicate', 'a'],
    ]);
    expect(dups[1].similarity).toBeGreaterThanOrEqual(0.6);
  });

  it('keeps distinct records at a strict threshold', () => {
    expect(findDuplicates(records, { exact: false, near: 0.99 }).map((d) => d.key)).toEqual(['b']);
  });

  it('scales to thousands of records', () => {
    const words = ['queue', 'lease', 'worker', 'export', 'chunk', 'teacher', 'judge', 'schema', 'stream', 'replay', 'retry', 'token', 'dataset', 'prompt', 'record', 'topic'];
    let seed = 7;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % words.length;
    const many = Array.from({ length: 5000 }, (_, i) => rec(`r${i}`, `How does the ${Array.from({ length: 8 }, () => words[next()]).join(' ')} work?`));
    const started = performance.now();
    const dups = findDuplicates([...many, rec('copy', many[42].data.question)], { exact: true, near: 0.9 });
    expect(dups.map((d) => d.key)).toEqual(['copy']);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

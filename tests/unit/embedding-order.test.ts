import { describe, expect, it } from 'vitest';
import { hashRank, textHash } from '../../services/embeddings/embedding-text.js';

describe('hashRank', () => {
  it('orders text hashes exactly as their hex text does, ties only for equal prefixes', () => {
    const hashes = Array.from({ length: 20_000 }, (_, i) => textHash(`record ${i % 15_000}`));
    // Two hashes sharing their first 13 hex digits but not the rest: the number ties, the text decides.
    hashes.push('0123456789abc' + 'f'.repeat(51), '0123456789abc' + '0'.repeat(51));
    const byText = [...hashes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const byRank = [...hashes].sort((a, b) => hashRank(a) - hashRank(b) || (a < b ? -1 : a > b ? 1 : 0));
    expect(byRank).toEqual(byText);
    expect(hashRank('0'.repeat(64))).toBe(0);
    expect(hashRank('f'.repeat(64))).toBe(2 ** 52 - 1);
  });
});

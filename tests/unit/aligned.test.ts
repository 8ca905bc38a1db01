import { describe, expect, it } from 'vitest';
import { itemLabels, misaligned } from '../../src/llm/aligned.js';

describe('misaligned', () => {
  const expected = itemLabels('p', 3);
  it('accepts the labels echoed in order, with or without brackets', () => {
    expect(expected).toEqual(['p1', 'p2', 'p3']);
    expect(misaligned([{ id: 'p1' }, { id: '[p2]' }, { id: ' p3 ' }], expected)).toBeUndefined();
  });
  it.each([
    [[{ id: 'p2' }, { id: 'p1' }, { id: 'p3' }]],
    [[{ id: 'p1' }, { id: 'p1' }, { id: 'p3' }]],
    [[{ id: 'p1' }, { id: 'p2' }]],
  ])('names the problem for %j', (items) => {
    expect(misaligned(items, expected)).toContain('items must have ids p1, p2, p3 in that order');
  });
});

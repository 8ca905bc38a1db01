/**
 * Batch prompts label their items (`[p1]`, `[p2]`, …) and ask the teacher to echo the labels in
 * order. This is the check for it: a batch answer that skips, repeats or reorders items is sent
 * back as a problem, never stored against the wrong record.
 */
export const itemLabels = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

export function misaligned(items: Array<{ id: string }>, expected: string[]): string | undefined {
  const got = items.map((item) => item.id.trim().replace(/^\[|\]$/g, ''));
  return got.join() === expected.join() ? undefined : `items must have ids ${expected.join(', ')} in that order; you gave ${got.join(', ')}`;
}

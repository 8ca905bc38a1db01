import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../src/queue/backoff.js';

describe('backoffMs', () => {
  it('doubles per attempt with jitter between half and the whole step', () => {
    expect(backoffMs(1, { random: () => 0 })).toBe(500);
    expect(backoffMs(1, { random: () => 1 })).toBe(1000);
    expect(backoffMs(3, { random: () => 0 })).toBe(2000);
    expect(backoffMs(3, { random: () => 1 })).toBe(4000);
  });

  it('is capped', () => {
    expect(backoffMs(30, { random: () => 1, capMs: 60_000 })).toBe(60_000);
    expect(backoffMs(30, { random: () => 0, capMs: 60_000 })).toBe(30_000);
  });

  it('spreads retries of the same attempt', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffMs(4)));
    expect(delays.size).toBeGreaterThan(10);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(4000), expect(d).toBeLessThanOrEqual(8000);
  });
});

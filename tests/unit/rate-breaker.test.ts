import { describe, expect, it } from 'vitest';
import { createAimd } from '../../src/llm/rate/aimd.js';
import { createBreaker } from '../../src/llm/rate/breaker.js';
import { memoryBucketStore } from '../../src/llm/rate/bucket-store.js';

describe('AIMD', () => {
  it('halves on a 429, once per wave, and grows by one after a window of successes', () => {
    let t = 0;
    const applied: number[] = [];
    const sut = createAimd(16, (n) => applied.push(n), () => t);
    t = 10;
    sut.limited(5);
    sut.limited(6); // sent before the cut: same wave
    expect(sut.concurrency).toBe(8);
    t = 20;
    sut.limited(15);
    expect(sut.concurrency).toBe(4);
    for (let i = 0; i < 4; i++) sut.succeeded();
    expect(sut.concurrency).toBe(5);
    for (let i = 0; i < 3; i++) sut.limited(100 + i), (t += 100);
    expect(sut.concurrency).toBe(1);
    expect(applied).toEqual([8, 4, 5, 2, 1]);
  });
});

describe('circuit breaker', () => {
  it('opens after the threshold, makes calls wait, probes one, closes on success and tells the waiting runs', async () => {
    const events: string[] = [];
    const sut = createBreaker({
      threshold: 3,
      baseMs: 30,
      capMs: 1000,
      onThrottled: (runs, info) => events.push(`throttled ${runs.join(',')} ${info.reason}`),
      onResumed: (runs) => events.push(`resumed ${runs.join(',')}`),
    });
    const signal = new AbortController().signal;
    for (let i = 0; i < 3; i++) sut.record('rate_limited');
    expect(sut.state).toBe('open');
    const a = sut.pass('run_a', signal);
    const b = sut.pass('run_b', signal);
    expect(sut.waiting).toBe(2);
    // After the pause one waiter goes as the probe; the other still waits.
    expect(await a).toBe(true);
    expect(sut.state).toBe('half_open');
    expect(sut.waiting).toBe(1);
    sut.record('rate_limited'); // the probe failed: open again, twice the pause
    expect(sut.state).toBe('open');
    const probe = await b;
    expect(probe).toBe(true);
    sut.record('ok');
    expect(sut.state).toBe('closed');
    expect(await sut.pass('run_c', signal)).toBe(false);
    expect(events).toEqual(['throttled run_a rate_limited', 'throttled run_b rate_limited', 'throttled run_a,run_b rate_limited', 'resumed run_a,run_b']);
  });

  it('lets a waiting call go when its signal aborts, and a lost probe hands over to the next', async () => {
    const sut = createBreaker({ threshold: 1, baseMs: 20, capMs: 100 });
    sut.record('server_errors');
    const controller = new AbortController();
    const waiting = sut.pass(undefined, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ category: 'canceled' });
    expect(sut.waiting).toBe(0);
    const first = sut.pass(undefined, new AbortController().signal);
    const second = sut.pass(undefined, new AbortController().signal);
    expect(await first).toBe(true);
    sut.probeEnded(); // the probe was canceled before it got an answer
    expect(await second).toBe(true);
    sut.stop();
  });
});

describe('memory bucket', () => {
  it('reserves into debt and says how long to wait', async () => {
    let t = 0;
    const sut = memoryBucketStore(() => t);
    const dims = { requests: { rate: 10, burst: 2, amount: 1 } };
    // A new bucket starts empty: the first call waits one interval.
    expect(await sut.take('k', dims)).toBe(100);
    t = 300;
    expect(await sut.take('k', dims)).toBe(0);
    expect(await sut.take('k', dims)).toBe(0);
    expect(await sut.take('k', dims)).toBe(100);
    expect(await sut.take('k', dims)).toBe(200);
    t = 1000;
    expect(await sut.take('k', dims)).toBe(0);
    await sut.give('k', { requests: { rate: 10, burst: 2, amount: 50 } });
    expect(await sut.take('k', dims)).toBe(0);
  });
});

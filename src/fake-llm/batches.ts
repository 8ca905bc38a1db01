// Provider batches of the fake teacher, in memory: each line answered by its online endpoint's own
// logic (the same answers, schema-only mode, pins and fault knobs), after the batch's delay.
import { randomBytes } from 'node:crypto';
import type { WireProvider } from './types.js';

/** One completion as its endpoint answers it (status and body), or 'hang': a request never answered. */
export type LineAnswer = { status: number; body: unknown; headers?: Record<string, string> } | 'hang';

/** The online completion handler's logic (server.ts); `online: false` skips the per-request latency. */
export type AnswerLine = (wire: WireProvider, raw: string, body: Record<string, any>, online: boolean) => Promise<LineAnswer>;

export type BatchApiKind = 'openai' | 'anthropic';

/** What became of a line: its endpoint's answer, or why it never ran (a 'hang' fault expires it). */
export type LineOutcome = { custom_id: string } & ({ status: number; body: unknown } | { skipped: 'canceled' | 'expired' });

export type BatchPhase = 'validating' | 'in_progress' | 'cancelling' | 'ended';

export interface FakeBatch {
  id: string;
  api: BatchApiKind;
  lines: Array<{ custom_id: string; body: Record<string, any> }>;
  createdAt: number;
  phase: BatchPhase;
  end?: 'completed' | 'cancelled' | 'expired' | 'failed';
  inProgressAt?: number;
  finalizingAt?: number;
  cancelAt?: number;
  endedAt?: number;
  outcomes: LineOutcome[];
  /** Why validation failed the batch (OpenAI's `errors`). */
  errors: Array<{ code: string; message: string; line: number | null; param: string | null }>;
  /** What the API module keeps with its batch (OpenAI: input file, endpoint, metadata, output files). */
  extra: Record<string, any>;
}

export interface BatchKnobs {
  /** How long after its creation a batch answers its lines and ends (default 20 ms). */
  delayMs: number;
}

export interface FakeBatchStats {
  /** Batches created per API. */
  created: Record<BatchApiKind, number>;
  /** Lines answered (canceled and expired lines are not). */
  lines: number;
  /** Batches canceled. */
  canceled: number;
}

/** Bound on batches kept: the oldest ended ones are dropped past it, so a long-lived fake does not grow. */
const MAX_BATCHES = 1000;

export interface BatchStore {
  create(api: BatchApiKind, lines: FakeBatch['lines'], options: { wire: WireProvider; idPrefix: string; errors?: FakeBatch['errors']; extra?: Record<string, any>; onEnd?: (batch: FakeBatch) => void }): FakeBatch;
  get(api: BatchApiKind, id: string): FakeBatch | undefined;
  /** The API's batches, newest first. */
  list(api: BatchApiKind): FakeBatch[];
  cancel(batch: FakeBatch): void;
  configure(knobs: Partial<BatchKnobs>): void;
  knobs(): BatchKnobs;
  stats(): FakeBatchStats;
  resetCounters(): void;
  close(): void;
}

export function createBatchStore(answerLine: AnswerLine): BatchStore {
  const knobs: BatchKnobs = { delayMs: 20 };
  const batches: FakeBatch[] = [];
  const runtime = new Map<FakeBatch, { wire: WireProvider; timer?: NodeJS.Timeout; running: boolean; onEnd?: (batch: FakeBatch) => void }>();
  let counters = freshCounters();
  let closed = false;

  const schedule = (batch: FakeBatch) => {
    const rt = runtime.get(batch)!;
    if (batch.phase !== 'in_progress' || rt.running) return;
    clearTimeout(rt.timer);
    rt.timer = setTimeout(() => void run(batch), Math.max(0, batch.createdAt + knobs.delayMs - Date.now()));
  };

  const finish = (batch: FakeBatch) => {
    const rt = runtime.get(batch)!;
    batch.finalizingAt = Date.now();
    const expired = batch.outcomes.some((o) => 'skipped' in o && o.skipped === 'expired');
    batch.end = batch.phase === 'cancelling' ? 'cancelled' : expired ? 'expired' : 'completed';
    if (batch.end === 'cancelled') counters.canceled++;
    rt.onEnd?.(batch);
    batch.phase = 'ended';
    batch.endedAt = Date.now();
    runtime.delete(batch);
  };

  const run = async (batch: FakeBatch) => {
    const rt = runtime.get(batch);
    if (!rt || closed) return;
    rt.running = true;
    for (const line of batch.lines) {
      if (batch.phase === 'cancelling' || closed) {
        batch.outcomes.push({ custom_id: line.custom_id, skipped: 'canceled' });
        continue;
      }
      const answer = await answerLine(rt.wire, JSON.stringify(line.body), line.body, false);
      if (answer === 'hang') batch.outcomes.push({ custom_id: line.custom_id, skipped: 'expired' });
      else {
        counters.lines++;
        batch.outcomes.push({ custom_id: line.custom_id, status: answer.status, body: answer.body });
      }
    }
    finish(batch);
  };

  return {
    create(api, lines, options) {
      const batch: FakeBatch = {
        id: `${options.idPrefix}${randomBytes(12).toString('hex')}`,
        api,
        lines,
        createdAt: Date.now(),
        phase: 'validating',
        outcomes: [],
        errors: options.errors ?? [],
        extra: options.extra ?? {},
      };
      counters.created[api]++;
      batches.push(batch);
      prune();
      const rt = { wire: options.wire, running: false, onEnd: options.onEnd, timer: undefined as NodeJS.Timeout | undefined };
      runtime.set(batch, rt);
      // Validation takes a moment, as at the real API: a status read right after creation says so.
      rt.timer = setTimeout(() => {
        if (batch.phase !== 'validating') return;
        if (batch.errors.length > 0) {
          Object.assign(batch, { phase: 'ended', end: 'failed', endedAt: Date.now() });
          runtime.delete(batch);
          return;
        }
        Object.assign(batch, { phase: 'in_progress', inProgressAt: Date.now() });
        schedule(batch);
      }, 0);
      return batch;
    },
    get: (api, id) => batches.find((b) => b.api === api && b.id === id),
    list: (api) => batches.filter((b) => b.api === api).reverse(),
    cancel(batch) {
      if (batch.phase === 'ended' || batch.phase === 'cancelling') return;
      const rt = runtime.get(batch)!;
      batch.phase = 'cancelling';
      batch.cancelAt = Date.now();
      if (rt.running) return;
      // Not started: every line is canceled, after a short while in `cancelling` as at the real APIs.
      clearTimeout(rt.timer);
      rt.timer = setTimeout(() => {
        batch.outcomes = batch.lines.map((l) => ({ custom_id: l.custom_id, skipped: 'canceled' as const }));
        finish(batch);
      }, Math.min(knobs.delayMs, 50));
    },
    configure(next) {
      if (next.delayMs !== undefined) {
        if (typeof next.delayMs !== 'number' || !(next.delayMs >= 0)) throw new TypeError(`batch.delayMs must be a non-negative number, got ${JSON.stringify(next.delayMs)}`);
        knobs.delayMs = next.delayMs;
        // Waiting batches follow the new delay, so a test can hold batches and then release them.
        for (const batch of runtime.keys()) schedule(batch);
      }
    },
    knobs: () => ({ ...knobs }),
    stats: () => ({ created: { ...counters.created }, lines: counters.lines, canceled: counters.canceled }),
    resetCounters: () => void (counters = freshCounters()),
    close() {
      closed = true;
      for (const rt of runtime.values()) clearTimeout(rt.timer);
    },
  };

  function prune() {
    while (batches.length > MAX_BATCHES) {
      const index = batches.findIndex((b) => b.phase === 'ended');
      if (index < 0) return;
      batches.splice(index, 1);
    }
  }
}

const freshCounters = () => ({ created: { openai: 0, anthropic: 0 }, lines: 0, canceled: 0 });

/** Unix seconds, as OpenAI stamps its objects. */
export const seconds = (ms: number | undefined): number | null => (ms === undefined ? null : Math.floor(ms / 1000));

/** Lines in reverse: the real APIs promise no order, so clients must match results by custom_id. */
export const shuffled = <T>(items: T[]): T[] => [...items].reverse();

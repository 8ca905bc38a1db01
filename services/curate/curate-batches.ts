import { Type, type Static } from '@sinclair/typebox';
import type { NewTask } from '../../db/runs.repository.js';
import { pacer } from '../../src/pacer.js';
import { LlmSettings } from '../jobs/job-options.js';
import type { CurateSpec } from './curate.spec.js';
import { curateJudgeTask, curatePassTask } from './curate.task.js';
import { slicer, type Rec, type StoredRecords } from './curate-records.js';


/** Records per no-LLM task (duplicates to the rejected set, keeps when judging is off). */
export const PASS_BATCH = 500;

/**
 * How the survivors of deduplication are judged, as the planner decides it. A semantic dedup
 * finisher carries it in its payload, so the judge tasks it plans are the ones the planner would have.
 */
export const JudgeSettings = Type.Object({
  threshold: Type.Number(),
  topic: Type.Optional(Type.String()),
  llm: LlmSettings,
  system_prompt: Type.Optional(Type.String()),
  batch_size: Type.Integer({ minimum: 1 }),
  max_attempts: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type JudgeSettings = Static<typeof JudgeSettings>;

/** The spec's judging settings with their defaults; undefined with `judge: false`. */
export function judgeSettings(spec: CurateSpec): JudgeSettings | undefined {
  if (spec.judge === false) return undefined;
  return {
    threshold: spec.threshold ?? 7,
    topic: spec.topic,
    llm: spec.llm ?? {},
    system_prompt: spec.system_prompt,
    batch_size: spec.batch_size ?? 5,
    ...(spec.max_attempts !== undefined ? { max_attempts: spec.max_attempts } : {}),
  };
}

/**
 * Where the tasks go: a planner leaves the run's dataset out (the run fills it in as tasks are
 * inserted), a task spawning them names it (spawned payloads are stored as they are).
 */
export interface Datasets {
  rejected: string;
  run?: string;
}

/**
 * Writes records decided without a teacher into `target` (the rejected set) or, without one, the
 * kept set; keys `${prefix}<n>`. Records carried, or by id (`StoredRecords`, read when each task runs).
 */
export function passTasks(prefix: string, records: Rec[] | StoredRecords, target: string | undefined, run?: string): NewTask[] {
  const tasks: NewTask[] = [];
  const { n, part } = slicer(records);
  for (let i = 0; i < n; i += PASS_BATCH) {
    tasks.push(curatePassTask.plan(`${prefix}${i / PASS_BATCH}`, { ...(run ? { dataset_id: run } : {}), ...(target ? { target_dataset_id: target } : {}), ...part(i, i + PASS_BATCH) }));
  }
  return tasks;
}

/**
 * The survivors of deduplication in judge batches (`b<n>`), or kept as they are (`keep<n>`) when
 * judging is off. Keys depend only on the survivors' order, so planning twice plans the same tasks.
 * Used at plan time, and by the semantic dedup finisher once it knows the survivors.
 */
export async function survivorTasks(survivors: Rec[] | StoredRecords, judge: JudgeSettings | undefined, datasets: Datasets): Promise<NewTask[]> {
  if (!judge) return passTasks('keep', survivors, undefined, datasets.run);
  const { batch_size: size, max_attempts: attempts, ...shared } = judge;
  const tasks: NewTask[] = [];
  const pace = pacer();
  const { n, part } = slicer(survivors);
  for (let i = 0; i < n; i += size) {
    const payload = { ...(datasets.run ? { dataset_id: datasets.run } : {}), rejected_dataset_id: datasets.rejected, ...shared, ...part(i, i + size) };
    tasks.push(curateJudgeTask.plan(`b${i / size}`, payload, attempts));
    const turn = pace();
    if (turn) await turn;
  }
  return tasks;
}

import type { NewTask } from '../../db/runs.repository.js';
import { newId } from '../../src/ids.js';
import type { EmbeddingMethod } from '../embeddings/embedding-method.js';
import { PASS_BATCH, type JudgeSettings } from './curate-batches.js';
import { curateStageTask } from './semantic.task.js';

type Rec = { key: string; data: Record<string, unknown> };

/**
 * Plans semantic dedup over the survivors of exact/near dedup: they are staged into a dataset of
 * the run (what embeddings are computed for, and a fixed input even if the source dataset changes),
 * and the finisher (semantic.task.ts) embeds, decides and plans the judging. Stage keys `stage<n>`.
 */
export function semanticPlan(survivors: Rec[], o: { rejectedId: string; threshold: number; method: EmbeddingMethod; judge?: JudgeSettings }): { inputId: string; tasks: NewTask[] } {
  const inputId = newId('ds');
  const finish = { rejected_dataset_id: o.rejectedId, input_dataset_id: inputId, threshold: o.threshold, method: o.method, ...(o.judge ? { judge: o.judge } : {}) };
  const tasks: NewTask[] = [];
  for (let i = 0; i < survivors.length; i += PASS_BATCH) {
    tasks.push(curateStageTask.plan(`stage${i / PASS_BATCH}`, { records: survivors.slice(i, i + PASS_BATCH), finish }));
  }
  return { inputId, tasks };
}

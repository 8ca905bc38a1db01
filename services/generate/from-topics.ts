import { AppError } from '../../src/errors.js';
import { hashOf } from '../../src/ids.js';
import { pacer } from '../../src/pacer.js';
import { checkPlanBytes, LIMITS, sharedBytes, tooLarge } from '../limits.js';
import type { RunPlan } from '../runs/runs.service.js';
import { uniqueTopics } from '../topics/topic-structure.js';
import { getTopics } from '../topics/topics.service.js';
import type { JobDeps, PlanInput } from '../jobs/job-deps.js';
import type { GenerateSpec } from './generate.spec.js';
import { topicSampleTask } from './topic-sample.task.js';
import type { TopicSamplePayload } from './task-payload.js';

const fmt = (n: number) => n.toLocaleString('en-US');

/** The percentage of a `"N%"` num_samples, or a 400 naming `field` when it is above LIMITS.samplePercent. */
export function samplePercent(numSamples: string, field = 'num_samples'): number {
  const percent = Number.parseFloat(numSamples);
  if (!(percent <= LIMITS.samplePercent)) throw tooLarge(field, `"${numSamples.slice(0, 20)}" is above ${fmt(LIMITS.samplePercent)}% of the unique topics`);
  return percent;
}

/**
 * `num_samples`: an integer, "auto" (one per unique topic) or "N%" of the unique topics; a count
 * above LIMITS.numSamples is a 400 naming `field`, before anything is planned.
 */
export function sampleCount(numSamples: GenerateSpec['num_samples'], unique: number, field = 'num_samples'): number {
  const count =
    numSamples === undefined || numSamples === 'auto'
      ? unique
      : typeof numSamples === 'number'
        ? numSamples
        : Math.max(1, Math.ceil((unique * samplePercent(numSamples, field)) / 100));
  if (count > LIMITS.numSamples) {
    const asked = typeof numSamples === 'number' ? `${fmt(count)} samples` : `${JSON.stringify(numSamples ?? 'auto')} of ${fmt(unique)} unique topics is ${fmt(count)} samples`;
    throw tooLarge(field, `${asked}; at most ${fmt(LIMITS.numSamples)} per run`);
  }
  return count;
}

/**
 * Samples from topics: sample i takes topic i mod the unique count, so coverage is even and a count
 * above the number of topics cycles over them again (DeepFabric v4), as the report says.
 */
export async function planFromTopics(deps: Pick<JobDeps, 'database'>, input: PlanInput<GenerateSpec>) {
  const { spec } = input;
  const pace = pacer();
  let paths: string[][];
  let origin: string;
  if (spec.topics_id) {
    const found = await getTopics(deps, input.owner, spec.topics_id).catch((err) => {
      if (err instanceof AppError && err.code === 'not_found') throw new AppError('validation_failed', `topics_id: no topics ${spec.topics_id}`, [{ field: 'topics_id', message: `no topics ${spec.topics_id}` }]);
      throw err;
    });
    paths = await uniqueTopics(found.structure, found.row.mode, pace);
    origin = (found.row.meta as { prompt?: string }).prompt ?? spec.topics_id;
  } else {
    paths = spec.topics!;
    origin = paths[0][0];
  }
  if (paths.length === 0) throw new AppError('validation_failed', 'topics_id: the topics have no paths yet', [{ field: 'topics_id', message: 'no topics to sample' }]);
  const count = sampleCount(spec.num_samples, paths.length);
  const task = (spec.task ?? 'qa') as 'qa' | 'cot' | 'conversation';
  const shared: Omit<TopicSamplePayload, 'dataset_id' | 'topic_path' | 'cycle'> = {
    task,
    turns: spec.turns ?? 1,
    conversation: { type: spec.conversation?.type ?? 'basic', reasoning_style: spec.conversation?.reasoning_style ?? 'freetext' },
    instructions: spec.instructions,
    system_prompt: spec.system_prompt,
    dataset_system_prompt: spec.dataset_system_prompt,
    include_system_message: spec.include_system_message ?? spec.dataset_system_prompt !== undefined,
    llm: spec.llm ?? {},
  };
  // Every sample copies the shared settings and its topic path: what the queue will hold, known before it is written.
  let bytes = count * (sharedBytes(shared) + 100);
  for (let i = 0; i < Math.min(count, paths.length); i++) {
    bytes += paths[i].reduce((sum, t) => sum + t.length + 3, 2) * Math.ceil((count - i) / paths.length);
    if (i % 1000 === 999) await pace();
  }
  checkPlanBytes(bytes, 'num_samples', 'fewer samples, or shorter instructions and system_prompt');
  const tasks = [];
  for (let i = 0; i < count; i++) {
    tasks.push(topicSampleTask.plan(`sample${i}`, { ...shared, topic_path: paths[i % paths.length], cycle: Math.floor(i / paths.length) }, spec.max_attempts));
    if (i % 1000 === 999) await pace();
  }
  const cycles = Math.ceil(count / paths.length);
  return {
    kind: 'generate',
    spec: { task, ...spec },
    requestHash: hashOf(spec),
    maxConcurrency: spec.batch_size,
    tasks,
    dataset: { name: spec.dataset_name ?? `${task} from topics: ${origin.slice(0, 80)}`, meta: { kind: task, source_run_kind: 'generate', ...(spec.topics_id ? { topics_id: spec.topics_id } : {}) } },
    report: {
      unique_topics: paths.length,
      samples: count,
      cycles,
      ...(count > paths.length ? { note: `${count} samples over ${paths.length} unique topics: samples cycle over the topics ${cycles} times (the last pass partly)` } : {}),
    },
  };
}

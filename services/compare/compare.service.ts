import { findDataset } from '../../db/datasets.repository.js';
import type { NewTask } from '../../db/runs.repository.js';
import { AppError, type ErrorDetail } from '../../src/errors.js';
import { hashOf } from '../../src/ids.js';
import { chooseEmbedding, planEmbedTasks } from '../embeddings/embeddings.service.js';
import type { JobDeps } from '../jobs/job-deps.js';
import { LIMITS, tooLarge } from '../limits.js';
import type { RunPlan } from '../runs/runs.service.js';
import { methodNote } from './compare.diversity.js';
import type { DecidePayload } from './compare.payloads.js';
import type { CompareSpec } from './compare.spec.js';
import { compareDecideTask } from './compare.decide.js';
import { compareMetricsTask } from './compare.task.js';

const invalid = (details: ErrorDetail[]) => new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
const JUDGE_ONLY = ['llm', 'system_prompt', 'sample_size'] as const;

/**
 * Labels for the report and the decision: the caller's, else the ones the caller knows (a pipeline's
 * stage names) and the dataset names, with the dataset id added to labels that repeat (the
 * decision's enum must tell them apart).
 */
function labelsOf(names: string[], ids: string[], given: string[] | undefined, known: string[] = []): string[] {
  if (given) return given;
  const raw = names.map((name, i) => known[i] ?? name);
  return raw.map((label, i) => (raw.indexOf(label) === raw.lastIndexOf(label) ? label : `${label} (${ids[i]})`));
}

/**
 * Plans a compare run: one metrics task per dataset (which queues the judge of its seeded sample),
 * the embed tasks the semantic diversity figure needs, and, through them, the finisher that decides.
 * The run writes no dataset: its report is its output. `fieldOf` names a dataset in errors
 * (`dataset_ids.N` for the endpoint, the stage for a pipeline).
 */
export async function planCompare(
  deps: Pick<JobDeps, 'database' | 'providers'>,
  input: { owner: string; spec: CompareSpec; fieldOf?: (index: number) => string; knownLabels?: string[] },
): Promise<RunPlan> {
  const { spec, owner } = input;
  const fieldOf = input.fieldOf ?? ((i: number) => `dataset_ids.${i}`);
  const details: ErrorDetail[] = [];
  spec.dataset_ids.forEach((id, i) => {
    const first = spec.dataset_ids.indexOf(id);
    if (first !== i) details.push({ field: fieldOf(i), message: `${id} is already compared as ${fieldOf(first)}` });
  });
  if (spec.labels && spec.labels.length !== spec.dataset_ids.length) details.push({ field: 'labels', message: `give one label per dataset: ${spec.dataset_ids.length}, not ${spec.labels.length}` });
  if (spec.judge === false) for (const f of JUDGE_ONLY) if (spec[f] !== undefined) details.push({ field: f, message: 'only applies when judging (judge is false)' });
  if (spec.llm?.provider && !deps.providers.get(spec.llm.provider)) details.push({ field: 'llm.provider', message: `unknown provider "${spec.llm.provider}"` });
  if (details.length) throw invalid(details);
  const method = chooseEmbedding(deps, spec.embedding);

  const datasets = [];
  for (const [i, id] of spec.dataset_ids.entries()) {
    const found = await findDataset(deps.database.db, id, owner);
    if (!found) details.push({ field: fieldOf(i), message: `no dataset ${id}` });
    else if (found.recordCount === 0) details.push({ field: fieldOf(i), message: `dataset ${id} is empty` });
    else if (found.recordCount > LIMITS.selectRecords) {
      throw tooLarge(fieldOf(i), `the dataset has ${found.recordCount.toLocaleString('en-US')} records; at most ${LIMITS.selectRecords.toLocaleString('en-US')} per dataset`);
    } else datasets.push(found);
  }
  if (details.length) throw invalid(details);
  const labels = labelsOf(datasets.map((d) => d.name), spec.dataset_ids, spec.labels, input.knownLabels);

  const finish: DecidePayload = {
    datasets: datasets.map((d, i) => ({ id: d.id, label: labels[i] })),
    judge: spec.judge !== false,
    llm: spec.llm ?? {},
    ...(spec.system_prompt !== undefined ? { system_prompt: spec.system_prompt } : {}),
    method,
    seed: spec.seed ?? 0,
  };
  const common = { near: spec.near ?? 0.85, seed: spec.seed ?? 0, sample_size: spec.sample_size ?? 10, ...(spec.max_attempts ? { max_attempts: spec.max_attempts } : {}), finish };
  const tasks: NewTask[] = datasets.map((d, i) => compareMetricsTask.plan(`metrics/${i}`, { index: i, dataset: finish.datasets[i], expected: d.recordCount, ...common }, spec.max_attempts));
  tasks.push(...(await planEmbedTasks(deps, owner, spec.dataset_ids, method, { kind: compareDecideTask.kind, payload: finish })));
  return {
    kind: 'compare',
    spec,
    requestHash: hashOf(spec),
    tasks,
    report: {
      compared: datasets.map((d, i) => ({ label: labels[i], dataset_id: d.id, records: d.recordCount })),
      sample_size: common.sample_size,
      seed: common.seed,
      near: common.near,
      judge: finish.judge,
      embedding: methodNote(method),
    },
  };
}

import type { ErrorDetail } from '../../src/errors.js';
import type { JobDeps, StageInput } from '../jobs/job-deps.js';
import type { PipelineSpec } from '../pipelines/pipeline.spec.js';
import type { RunPlan } from '../runs/runs.service.js';
import { planCompare } from './compare.service.js';

/** The stages before compare that write records (topics writes topic nodes). */
const WRITERS = ['generate', 'tools', 'enrich', 'curate', 'select'] as const;

/**
 * A pipeline's compare stage, checked when the pipeline is planned: it needs two datasets at least
 * (the pipeline's `dataset_id`, each earlier stage that writes records, and `compare.dataset_ids`).
 */
export function compareStageProblems(spec: PipelineSpec, deps: Pick<JobDeps, 'providers'>): ErrorDetail[] {
  const stage = spec.compare;
  if (!stage) return [];
  const details: ErrorDetail[] = [];
  const written = WRITERS.filter((s) => spec[s] !== undefined);
  const count = (spec.dataset_id ? 1 : 0) + written.length + (stage.dataset_ids?.length ?? 0);
  if (count < 2) details.push({ field: 'compare', message: `compares at least two datasets: the input dataset_id, each stage that writes records (${written.join(', ') || 'none here'}) and compare.dataset_ids; this pipeline has ${count}` });
  if (stage.labels && stage.labels.length !== count) details.push({ field: 'compare.labels', message: `give one label per compared dataset: ${count}, not ${stage.labels.length}` });
  if (stage.llm?.provider && !deps.providers.get(stage.llm.provider)) details.push({ field: 'compare.llm.provider', message: `unknown provider "${stage.llm.provider}"` });
  return details;
}

/**
 * The compare stage compares what the stages before it wrote (e.g. generated vs curated, labelled
 * by stage: `input`, `generate`, `enrich`, `curate`), plus `compare.dataset_ids` (labelled by their
 * names). It writes no dataset: the pipeline's dataset stays the last one written before it.
 */
export function planCompareStage(deps: JobDeps, input: StageInput): Promise<RunPlan> {
  const { dataset_ids: extra = [], ...options } = input.pipeline.compare ?? {};
  const earlier = input.earlier ?? (input.inputDatasetId ? [{ stage: 'input', dataset_id: input.inputDatasetId }] : []);
  const ids = [...earlier.map((e) => e.dataset_id), ...extra];
  return planCompare(deps, {
    owner: input.owner,
    spec: { ...options, dataset_ids: ids },
    fieldOf: (i) => (i < earlier.length ? `compare (the ${earlier[i].stage} stage's dataset)` : `compare.dataset_ids.${i - earlier.length}`),
    knownLabels: earlier.map((e) => e.stage),
  });
}

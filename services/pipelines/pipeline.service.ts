import { findDataset } from '../../db/datasets.repository.js';
import { AppError, type ErrorDetail } from '../../src/errors.js';
import { hashOf } from '../../src/ids.js';
import { checkGenerateSpec } from '../generate/generate.check.js';
import { documentSummaries } from '../generate/generate.service.js';
import type { JobDeps } from '../jobs/job-deps.js';
import { advanceTask } from './pipeline.task.js';
import type { RunPlan } from '../runs/runs.service.js';
import { sampleCount } from '../generate/from-topics.js';
import { LIMITS } from '../limits.js';
import { leavesMessage } from '../topics/topics.service.js';
import { TOPIC_LIMITS } from '../topics/topics.spec.js';
import { type PipelineSpec, stagesOf } from './pipeline.spec.js';
import { foldStageCaches } from './pipeline.cache.js';
import { checkToolsStage, storedToolsStage, toolsStageProblems } from './pipeline.tools.js';
import { compareStageProblems } from '../compare/compare.stage.js';
import { selectOptionProblems } from '../select/select.service.js';

/**
 * Plans a pipeline: a run whose tasks each start the next stage as a run of its own. Its total is
 * one advance per stage plus the finish, fixed now so it cannot end between stages.
 */
export async function planPipeline(
  deps: Pick<JobDeps, 'database' | 'providers' | 'toolsHttpAllow'>,
  input: { owner: string; spec: PipelineSpec; report?: Record<string, unknown>; overrides?: Record<string, unknown> },
) {
  const spec = foldStageCaches(input.spec);
  const stray = Object.keys(input.overrides ?? {});
  if (stray.length) throw new AppError('validation_failed', `${stray.join(', ')}: overrides apply to DeepFabric YAML configs only`, stray.map((field) => ({ field, message: 'only with a DeepFabric YAML config' })));
  const stages = stagesOf(spec);
  const details: ErrorDetail[] = [];
  const makes = spec.generate ?? spec.tools;
  if (stages.length === 0) details.push({ field: 'generate', message: 'a pipeline needs at least one of topics, generate, tools, enrich and curate' });
  if ((makes || spec.topics) && spec.dataset_id) details.push({ field: 'dataset_id', message: 'generate and tools read their own source; dataset_id is the input only when topics, generate and tools are skipped' });
  if (!makes && !spec.topics && stages.length > 0 && !spec.dataset_id) details.push({ field: 'dataset_id', message: `is required when the pipeline starts with ${stages[0]}` });
  if (spec.topics && (spec.enrich || spec.curate || spec.select) && !makes) details.push({ field: 'generate', message: 'enrich, curate and select need records: add a generate or tools stage after topics' });
  if (spec.topics && !makes && spec.export) {
    details.push({ field: 'export', message: 'a topics-only pipeline makes a topic tree or graph, not training records: add a generate or tools stage, or download the topics (GET /v1/topics/{id}?format=jsonl or graph)' });
  }
  details.push(...toolsStageProblems(spec), ...compareStageProblems(spec, deps), ...(spec.select ? selectOptionProblems(deps, spec.select, 'select.') : []));
  if (spec.topics && spec.generate) {
    for (const source of ['documents', 'lancedb', 'dataset_id', 'seed_records', 'topics_id', 'topics'] as const) {
      if (spec.generate[source] !== undefined) details.push({ field: `generate.${source}`, message: 'after a topics stage, generate samples from those topics' });
    }
  }
  for (const stage of ['enrich', 'curate'] as const) {
    const provider = spec[stage]?.llm?.provider;
    if (provider && !deps.providers.get(provider)) details.push({ field: `${stage}.llm.provider`, message: `unknown provider "${provider}"` });
  }
  if (spec.curate?.judge === false && !spec.curate.dedup) details.push({ field: 'curate.dedup', message: 'with judge: false there is nothing to do but deduplicate; give dedup' });
  if (details.length) throw new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
  await checkToolsStage(deps, input.owner, spec);
  if (spec.generate) {
    try {
      // After a topics stage the source is filled in when the stage ends; check the rest with a stand-in.
      checkGenerateSpec(spec.topics ? { ...spec.generate, topics_id: 'tp_000000000000000000000000' } : spec.generate, deps.providers);
    } catch (err) {
      if (err instanceof AppError) throw new AppError(err.code, `generate.${err.message}`, err.details.map((d) => ({ ...d, field: `generate.${d.field}` })));
      throw err;
    }
  }
  if (spec.topics) {
    const mode = spec.topics.mode ?? 'tree';
    if ((spec.topics.degree ?? 3) > TOPIC_LIMITS[mode].degree) details.push({ field: 'topics.degree', message: `at most ${TOPIC_LIMITS[mode].degree} for a ${mode}` });
    const degree = spec.topics.degree ?? 3;
    const depth = spec.topics.depth ?? 2;
    if (depth > TOPIC_LIMITS[mode].depth) details.push({ field: 'topics.depth', message: `at most ${TOPIC_LIMITS[mode].depth} for a ${mode}` });
    else if (degree ** depth > LIMITS.topicLeaves) details.push({ field: 'topics.depth', message: leavesMessage(degree, depth) });
    else if (spec.generate) {
      // The generate stage samples topics that do not exist yet: its size is checked now against the
      // most the topics stage can make, so a stage that cannot start is never queued.
      const unique = mode === 'tree' ? degree ** depth : Array.from({ length: depth }, (_, k) => degree ** (k + 1)).reduce((a, b) => a + b, 0);
      try {
        sampleCount(spec.generate.num_samples, unique, 'generate.num_samples');
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        details.push(...err.details);
      }
    }
    if (details.length) throw new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
  }
  if (spec.dataset_id && !(await findDataset(deps.database.db, spec.dataset_id, input.owner))) {
    throw new AppError('validation_failed', `dataset_id: no dataset ${spec.dataset_id}`, [{ field: 'dataset_id', message: `no dataset ${spec.dataset_id}` }]);
  }
  // Document text stays with the generate stage's tasks, not in the pipeline's stored spec.
  // Header values stay with the tools stage's tasks too.
  const withDocs = spec.generate?.documents ? { ...spec, generate: { ...spec.generate, documents: await documentSummaries(spec.generate.documents) } } : spec;
  const stored = spec.tools ? { ...withDocs, tools: storedToolsStage(spec.tools) } : withDocs;
  return {
    kind: 'pipeline',
    spec: stored,
    requestHash: hashOf(stored),
    tasks: [advanceTask.plan('stage:0', { stage: 0, generate: spec.generate, ...(stages[0] === 'tools' ? { tools: spec.tools } : {}) })],
    total: stages.length + 1,
    report: { stages: stages, ...(input.report ?? {}) },
  };
}

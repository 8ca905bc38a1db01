import { findDataset } from '../../db/datasets.repository.js';
import { AppError, type ErrorDetail } from '../../src/errors.js';
import { hashOf } from '../../src/ids.js';
import { checkGenerateSpec } from '../generate/generate.check.js';
import type { GenerateDeps } from '../generate/generate.service.js';
import { startRun } from '../runs/runs.service.js';
import { TOPIC_LIMITS } from '../topics/topics.spec.js';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { fromDeepFabric, type DeepFabricOverrides } from './deepfabric.js';
import { PipelineSpec, stagesOf } from './pipeline.spec.js';

/**
 * Starts a pipeline: a run whose tasks each start the next stage as a run of its own. Its total is
 * one advance per stage plus the finish, fixed now so it cannot end between stages.
 */
export async function startPipeline(
  deps: GenerateDeps,
  input: { owner: string; spec: PipelineSpec; idempotencyKey?: string; report?: Record<string, unknown>; overrides?: Record<string, unknown> },
) {
  const { spec } = input;
  const stray = Object.keys(input.overrides ?? {});
  if (stray.length) throw new AppError('validation_failed', `${stray.join(', ')}: overrides apply to DeepFabric YAML configs only`, stray.map((field) => ({ field, message: 'only with a DeepFabric YAML config' })));
  const stages = stagesOf(spec);
  const details: ErrorDetail[] = [];
  if (stages.length === 0) details.push({ field: 'generate', message: 'a pipeline needs at least one of topics, generate, enrich and curate' });
  if ((spec.generate || spec.topics) && spec.dataset_id) details.push({ field: 'dataset_id', message: 'generate reads its own source; dataset_id is the input only when topics and generate are skipped' });
  if (!spec.generate && !spec.topics && stages.length > 0 && !spec.dataset_id) details.push({ field: 'dataset_id', message: `is required when the pipeline starts with ${stages[0]}` });
  if (spec.topics && (spec.enrich || spec.curate) && !spec.generate) details.push({ field: 'generate', message: 'enrich and curate need records: add a generate stage after topics' });
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
    if ((spec.topics.depth ?? 2) > TOPIC_LIMITS[mode].depth) details.push({ field: 'topics.depth', message: `at most ${TOPIC_LIMITS[mode].depth} for a ${mode}` });
    if (details.length) throw new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
  }
  if (spec.dataset_id && !(await findDataset(deps.database.db, spec.dataset_id, input.owner))) {
    throw new AppError('validation_failed', `dataset_id: no dataset ${spec.dataset_id}`, [{ field: 'dataset_id', message: `no dataset ${spec.dataset_id}` }]);
  }
  // Document text stays with the generate stage's tasks, not in the pipeline's stored spec.
  const stored = spec.generate?.documents
    ? { ...spec, generate: { ...spec.generate, documents: spec.generate.documents.map((d) => ({ name: d.name, chars: d.text.length, sha256: hashOf(d.text) })) } }
    : spec;
  return startRun(deps, {
    owner: input.owner,
    kind: 'pipeline',
    spec: stored,
    requestHash: hashOf(spec),
    idempotencyKey: input.idempotencyKey,
    tasks: [{ key: 'stage:0', kind: 'pipeline.advance', payload: { stage: 0, generate: spec.generate } }],
    total: stages.length + 1,
    report: { stages: stages, ...(input.report ?? {}) },
  });
}

export const DeepFabricOverridesQuery = Type.Object(
  {
    provider: Type.Optional(Type.String({ minLength: 1 })),
    model: Type.Optional(Type.String({ minLength: 1 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    degree: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
    depth: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    num_steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    num_samples: Type.Optional(Type.String({ pattern: '^([0-9]+|auto|[0-9]+(\\.[0-9]+)?%)$', description: 'integer, auto or N%' })),
    batch_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    sys_msg: Type.Optional(Type.Boolean()),
    mode: Type.Optional(Type.Union([Type.Literal('tree'), Type.Literal('graph')])),
  },
  { additionalProperties: false, description: 'DeepFabric YAML only: the overrides of `deepfabric generate`' },
);

const checkPipeline = TypeCompiler.Compile(PipelineSpec);

/** A DeepFabric config, translated, validated like a JSON pipeline, and run; the report says what was ignored. */
export async function startDeepFabric(deps: GenerateDeps, input: { owner: string; yaml: string; idempotencyKey?: string; overrides: DeepFabricOverrides }) {
  const { spec, layout, ignored } = fromDeepFabric(input.yaml, input.overrides);
  const errors = [...checkPipeline.Errors(spec)];
  if (errors.length) {
    const details = errors.slice(0, 20).map((e) => ({ field: e.path.slice(1).replace(/\//g, '.'), message: e.message }));
    throw new AppError('validation_failed', `the translated config is invalid: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`, details);
  }
  return startPipeline(deps, { owner: input.owner, spec, idempotencyKey: input.idempotencyKey, report: { deepfabric: { layout, ignored } } });
}

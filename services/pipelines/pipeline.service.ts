import { findDataset } from '../../db/datasets.repository.js';
import { AppError, type ErrorDetail } from '../../src/errors.js';
import { hashOf } from '../../src/ids.js';
import { checkGenerateSpec } from '../generate/generate.check.js';
import type { GenerateDeps } from '../generate/generate.service.js';
import { startRun } from '../runs/runs.service.js';
import { stagesOf, type PipelineSpec } from './pipeline.spec.js';

/**
 * Starts a pipeline: a run whose tasks each start the next stage as a run of its own. Its total is
 * one advance per stage plus the finish, fixed now so it cannot end between stages.
 */
export async function startPipeline(deps: GenerateDeps, input: { owner: string; spec: PipelineSpec; idempotencyKey?: string }) {
  const { spec } = input;
  const stages = stagesOf(spec);
  const details: ErrorDetail[] = [];
  if (stages.length === 0) details.push({ field: 'generate', message: 'a pipeline needs at least one of generate, enrich and curate' });
  if (spec.generate && spec.dataset_id) details.push({ field: 'dataset_id', message: 'generate reads its own source; dataset_id is the input only when generate is skipped' });
  if (!spec.generate && stages.length > 0 && !spec.dataset_id) details.push({ field: 'dataset_id', message: `is required when the pipeline starts with ${stages[0]}` });
  for (const stage of ['enrich', 'curate'] as const) {
    const provider = spec[stage]?.llm?.provider;
    if (provider && !deps.providers.get(provider)) details.push({ field: `${stage}.llm.provider`, message: `unknown provider "${provider}"` });
  }
  if (spec.curate?.judge === false && !spec.curate.dedup) details.push({ field: 'curate.dedup', message: 'with judge: false there is nothing to do but deduplicate; give dedup' });
  if (details.length) throw new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
  if (spec.generate) {
    try {
      checkGenerateSpec(spec.generate, deps.providers);
    } catch (err) {
      if (err instanceof AppError) throw new AppError(err.code, `generate.${err.message}`, err.details.map((d) => ({ ...d, field: `generate.${d.field}` })));
      throw err;
    }
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
    report: { stages: stages },
  });
}

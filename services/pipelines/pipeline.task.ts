import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Executor } from '../../db/client.js';
import { findRunById, stageRuns } from '../../db/runs.repository.js';
import { LlmError } from '../../src/llm/llm.errors.js';
import { GenerateSpec } from '../generate/generate.spec.js';
import { budgetOf } from '../jobs/budget.js';
import { defineTask } from '../jobs/task-kind.js';
import { startRun } from '../runs/runs.service.js';
import { StoredPipelineSpec, ToolsStageSpec, stagesOf } from './pipeline.spec.js';

/** pipeline.advance: start stage `stage` (or finish, past the last one). */
export const AdvancePayload = Type.Object({
  stage: Type.Integer({ minimum: 0 }),
  previous_run_id: Type.Optional(Type.String()),
  /** Stage 0's full generate spec: the stored pipeline spec keeps document names, not text. */
  generate: Type.Optional(GenerateSpec),
  /** Stage 0's full tools spec, header values included: the stored pipeline spec keeps their names only. */
  tools: Type.Optional(ToolsStageSpec),
});

const pipelineSpec = TypeCompiler.Compile(StoredPipelineSpec);
const outputOf = (output: unknown): { dataset_id?: string; topics_id?: string } => {
  const o = typeof output === 'object' && output !== null ? Object.fromEntries(Object.entries(output)) : {};
  return { dataset_id: typeof o.dataset_id === 'string' ? o.dataset_id : undefined, topics_id: typeof o.topics_id === 'string' ? o.topics_id : undefined };
};

/**
 * Starts a pipeline's next stage as a run of its own (idempotently: a re-run finds the same stage
 * run), or, after the last stage, points the pipeline's output at the final dataset. A stage that
 * cannot start fails the pipeline at once. Stages come from the job modules (deps.stages).
 */
export const advanceTask = defineTask('pipeline.advance', AdvancePayload, (deps) => async ({ task, payload: p }) => {
  const pipeline = await findRunById(deps.database.db, task.run_id);
  if (!pipeline) throw new LlmError('api', `pipeline ${task.run_id} is gone`, { fatal: true });
  const spec = pipeline.spec;
  if (!pipelineSpec.Check(spec)) throw new LlmError('api', `pipeline ${task.run_id} has a spec this version cannot read`, { fatal: true });
  const stages = stagesOf(spec);
  const previous = p.previous_run_id ? await findRunById(deps.database.db, p.previous_run_id) : undefined;
  const previousOutput = previous ? outputOf(previous.output) : undefined;
  const earlier = await earlierDatasets(deps.database.db, pipeline.id, p.stage, spec.dataset_id);
  // A stage that writes no dataset (compare) passes on the last one written before it.
  const input = previousOutput?.dataset_id ?? earlier.at(-1)?.dataset_id ?? spec.dataset_id;

  if (p.stage >= stages.length) {
    const topicsRun = spec.topics ? (await stageRuns(deps.database.db, pipeline.id)).find((r) => r.kind === 'topics') : undefined;
    const topicsId = topicsRun ? outputOf(topicsRun.output).topics_id : undefined;
    // A pipeline that ends with its topics stage made a tree or graph, not training records: its output is the topics alone.
    if (stages.at(-1) === 'topics') return { datasetId: '', records: [], output: { topics_id: topicsId } };
    return { datasetId: '', records: [], output: { dataset_id: input, ...(topicsId ? { topics_id: topicsId } : {}), ...(spec.export ? { export: spec.export } : {}) } };
  }
  const name = stages[p.stage];
  const plan = deps.stages[name];
  if (!plan) throw new LlmError('api', `stage ${p.stage} (${name}) has no job module`, { fatal: true });
  let child;
  try {
    const planned = await plan(deps, { owner: pipeline.owner, pipeline: spec, inputDatasetId: input, previous: previousOutput, earlier, carried: p.generate, carriedTools: p.tools });
    // The stage run is keyed by pipeline and stage, so a redone advance finds it instead of starting another.
    // A stage's own max_cost_usd bounds its run; the pipeline's covers them all (db/budget.repository.ts).
    const budget = budgetOf(spec[name]);
    child = await startRun(deps, { ...planned, owner: pipeline.owner, idempotencyKey: `pipeline:${pipeline.id}:${p.stage}`, parent: { runId: pipeline.id, stage: p.stage }, maxCostUsd: budget });
  } catch (err) {
    throw new LlmError('api', `stage ${p.stage} (${name}) could not start: ${(err as Error).message}`, { fatal: true });
  }
  const run = child.run;
  return {
    datasetId: '',
    records: [],
    events: [{ type: 'stage.started', data: { stage: p.stage, kind: name, run_id: run.id, dataset_id: run.output.dataset_id, input_dataset_id: input ?? null, tasks: run.progress.total } }],
  };
});

/** The datasets the stages before `stage` wrote, in order (a topics stage's nodes are no records), after the pipeline's own input. */
async function earlierDatasets(db: Executor, pipelineId: string, stage: number, input: string | undefined) {
  const runs = (await stageRuns(db, pipelineId)).filter((r) => (r.stage ?? 0) < stage && r.kind !== 'topics');
  const written = runs.flatMap((r) => {
    const id = outputOf(r.output).dataset_id;
    return id ? [{ stage: r.kind, dataset_id: id }] : [];
  });
  return [...(input ? [{ stage: 'input', dataset_id: input }] : []), ...written];
}

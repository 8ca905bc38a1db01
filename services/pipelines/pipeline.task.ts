import { findRunById, stageRuns } from '../../db/runs.repository.js';
import { LlmError } from '../../src/llm/llm.errors.js';
import type { TaskHandler } from '../../src/queue/task-handler.js';
import { startCurate } from '../curate/curate.service.js';
import { startEnrich } from '../enrich/enrich.service.js';
import { startGenerate, type GenerateDeps } from '../generate/generate.service.js';
import type { GenerateSpec } from '../generate/generate.spec.js';
import { startTopics } from '../topics/topics.service.js';
import { stagesOf, type PipelineSpec } from './pipeline.spec.js';

interface AdvancePayload {
  stage: number;
  previous_run_id?: string;
  /** Stage 0's full generate spec: the stored pipeline spec keeps document names, not text. */
  generate?: GenerateSpec;
}

/**
 * Starts a pipeline's next stage as a run of its own (idempotently: a re-run finds the same stage
 * run), or, after the last stage, points the pipeline's output at the final dataset. A stage that
 * cannot start fails the pipeline at once.
 */
export function pipelineAdvanceHandler(deps: GenerateDeps): TaskHandler {
  return async ({ task }) => {
    const p = task.payload as AdvancePayload;
    const pipeline = await findRunById(deps.database.db, task.run_id);
    if (!pipeline) throw new LlmError('api', `pipeline ${task.run_id} is gone`, { fatal: true });
    const spec = pipeline.spec as PipelineSpec;
    const stages = stagesOf(spec);
    const previous = p.previous_run_id ? await findRunById(deps.database.db, p.previous_run_id) : undefined;
    const previousOutput = previous?.output as { dataset_id?: string; topics_id?: string } | undefined;
    const input = previousOutput?.dataset_id ?? spec.dataset_id;

    if (p.stage >= stages.length) {
      const topicsRun = spec.topics ? (await stageRuns(deps.database.db, pipeline.id)).find((r) => r.kind === 'topics') : undefined;
      const topicsId = (topicsRun?.output as { topics_id?: string } | undefined)?.topics_id;
      return { datasetId: '', records: [], output: { dataset_id: input, ...(topicsId ? { topics_id: topicsId } : {}), ...(spec.export ? { export: spec.export } : {}) } };
    }
    const name = stages[p.stage];
    const start = { owner: pipeline.owner, idempotencyKey: `pipeline:${pipeline.id}:${p.stage}`, parent: { runId: pipeline.id, stage: p.stage } };
    let child;
    try {
      if (name === 'topics') child = await startTopics(deps, { ...start, spec: spec.topics! });
      else if (name === 'generate') {
        const generate = p.generate ?? (spec.generate as GenerateSpec);
        child = await startGenerate(deps, { ...start, spec: previousOutput?.topics_id ? { ...generate, topics_id: previousOutput.topics_id } : generate });
      }
      else if (name === 'enrich') child = await startEnrich(deps, { ...start, spec: { ...spec.enrich, dataset_id: input } });
      else child = await startCurate(deps, { ...start, spec: { ...spec.curate, dataset_id: input } });
    } catch (err) {
      throw new LlmError('api', `stage ${p.stage} (${name}) could not start: ${(err as Error).message}`, { fatal: true });
    }
    const run = child.run;
    return {
      datasetId: '',
      records: [],
      events: [{ type: 'stage.started', data: { stage: p.stage, kind: name, run_id: run.id, dataset_id: run.output.dataset_id, input_dataset_id: input ?? null, tasks: run.progress.total } }],
    };
  };
}

import { TypeCompiler } from '@sinclair/typebox/compiler';
import { GenerateSpec } from '../generate/generate.spec.js';
import type { JobDeps, StageStarter } from '../jobs/job-deps.js';
import type { StagePreview } from '../jobs/job-module.js';
import type { RunPlan } from '../runs/runs.service.js';
import { StoredPipelineSpec, ToolsStageSpec, stagesOf } from './pipeline.spec.js';

const storedSpec = TypeCompiler.Compile(StoredPipelineSpec);
const generateSpec = TypeCompiler.Compile(GenerateSpec);
const toolsSpec = TypeCompiler.Compile(ToolsStageSpec);

/**
 * A pipeline's stages for a dry run: the first is planned now, as its advance task would plan it;
 * each later one reads what the stage before it writes, so it is planned only when that has run.
 */
export async function previewPipeline(deps: JobDeps, stages: Record<string, StageStarter>, owner: string, plan: RunPlan): Promise<StagePreview[]> {
  const spec = plan.spec;
  if (!storedSpec.Check(spec)) return [];
  const names = stagesOf(spec);
  const carried = plan.tasks[0]?.payload.generate;
  const carriedTools = plan.tasks[0]?.payload.tools;
  const first = await stages[names[0]](deps, {
    owner,
    pipeline: spec,
    inputDatasetId: spec.dataset_id,
    carried: generateSpec.Check(carried) ? carried : undefined,
    carriedTools: toolsSpec.Check(carriedTools) ? carriedTools : undefined,
  });
  return names.map((stage, i) =>
    i === 0 ? { stage, plan: first } : { stage, note: `planned when ${names[i - 1]} has run (it reads what that stage writes), so its teacher calls are not in the estimate` },
  );
}

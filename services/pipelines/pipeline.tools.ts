import { AppError, type ErrorDetail } from '../../src/errors.js';
import type { JobDeps } from '../jobs/job-deps.js';
import { checkToolsRequest } from '../tools/generate/tools-generate.service.js';
import type { PipelineSpec, ToolsStageSpec } from './pipeline.spec.js';

/**
 * The rules of a pipeline's tools stage: it makes the records (so it stands in for generate, and
 * enrich, which rewrites question/answer and conversation text, has nothing to do after it), a
 * topics stage before it gives the topics, and header values are only ever carried, never stored.
 */
export function toolsStageProblems(spec: PipelineSpec): ErrorDetail[] {
  const tools = spec.tools;
  if (!tools) return [];
  const details: ErrorDetail[] = [];
  if (spec.generate) details.push({ field: 'tools', message: 'give generate or tools, not both: each makes the records of the pipeline' });
  if (spec.enrich) details.push({ field: 'enrich', message: 'enrich rewrites question/answer and conversation records; tool-use records go from tools to curate' });
  if (spec.topics && tools.topics_id !== undefined) details.push({ field: 'tools.topics_id', message: 'after a topics stage, tools writes its examples for those topics' });
  // A stage after topics is planned from the stored spec, which keeps header names only.
  if (spec.topics && tools.execution?.headers) {
    details.push({ field: 'tools.execution.headers', message: 'header values are not stored, and a tools stage after topics starts later: run the topics first and pass its topics_id' });
  }
  return details;
}

/** The tools stage checked as POST /v1/tools/generate would check it (tools resolved), its 400 naming `tools.…`. */
export async function checkToolsStage(deps: Pick<JobDeps, 'database' | 'providers' | 'toolsHttpAllow'>, owner: string, spec: PipelineSpec): Promise<void> {
  if (!spec.tools) return;
  // After a topics stage the topics are filled in when that stage ends.
  try {
    await checkToolsRequest(deps, owner, spec.tools);
  } catch (err) {
    if (err instanceof AppError) throw new AppError(err.code, `tools.${err.message}`, err.details.map((d) => ({ ...d, field: `tools.${d.field}` })));
    throw err;
  }
}

/** The tools stage as the pipeline stores it: header values replaced, as the tools run stores its own. */
export function storedToolsStage(tools: ToolsStageSpec): ToolsStageSpec {
  const headers = tools.execution?.headers;
  if (!headers) return tools;
  return { ...tools, execution: { ...tools.execution, headers: Object.fromEntries(Object.keys(headers).map((k) => [k, '(redacted)'])) } };
}

import type { NewTask } from '../../../db/runs.repository.js';
import { AppError, type ErrorDetail } from '../../../src/errors.js';
import { hashOf, newId } from '../../../src/ids.js';
import { nextTurn, pacer } from '../../../src/pacer.js';
import type { JobDeps, PlanInput } from '../../jobs/job-deps.js';
import { checkPlanBytes, checkTaskCount } from '../../limits.js';
import type { RunPlan } from '../../runs/runs.service.js';
import { assertExecutionAllowed, assertUrlAllowed } from '../execute/allow-list.js';
import { planExamples } from '../plan.js';
import type { ExecutionMode as Mode, Tool } from '../tool.js';
import { isVfsTool, vfsToolFile } from '../definitions/vfs-tools.js';
import { capCalls } from '../cap-calls.js';
import { topicPaths } from './topic-paths.js';
import { DIFFICULTIES, type Difficulty } from '../tool-example.js';
import { resolveTools } from '../tools.service.js';
import { DEFAULTS, type ExecutionSettings, type ToolsGenerateSpec } from './tools-generate.spec.js';
import { toolsExampleTask } from './tools-generate.task.js';

const fail = (details: ErrorDetail[]) => new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);

/** What the request says that can be checked without the tools: one 400 naming every field at fault. */
function checkSpec(deps: Pick<JobDeps, 'providers'>, spec: Omit<ToolsGenerateSpec, 'dry_run'>): void {
  const details: ErrorDetail[] = [];
  if (spec.target_examples !== undefined && spec.per_tool !== undefined) details.push({ field: 'per_tool', message: 'give target_examples or per_tool, not both' });
  if (spec.difficulty && DIFFICULTIES.every((d) => (spec.difficulty?.[d] ?? 0) === 0)) details.push({ field: 'difficulty', message: 'at least one difficulty needs a share above 0' });
  if (spec.llm?.provider && !deps.providers.get(spec.llm.provider)) details.push({ field: 'llm.provider', message: `unknown provider "${spec.llm.provider}"` });
  const ex = spec.execution ?? {};
  const mode = ex.mode ?? 'simulated';
  if (ex.base_url !== undefined && mode !== 'http') details.push({ field: 'execution.base_url', message: 'only applies to execution mode "http"' });
  if (ex.mcp_url !== undefined && mode !== 'mcp') details.push({ field: 'execution.mcp_url', message: 'only applies to execution mode "mcp"' });
  if (mode === 'mcp' && ex.mcp_url === undefined) details.push({ field: 'execution.mcp_url', message: 'execution mode "mcp" needs the server\'s URL' });
  if (ex.headers !== undefined && (mode === 'simulated' || mode === 'vfs')) details.push({ field: 'execution.headers', message: `${mode} execution calls nothing; headers apply to "http" and "mcp"` });
  if (ex.files !== undefined && mode !== 'vfs') details.push({ field: 'execution.files', message: 'only applies to execution mode "vfs"' });
  if (details.length) throw fail(details);
}

/** Real execution only where TOOLS_HTTP_ALLOW admits it, refused now rather than at the first call. */
function checkExecution(deps: Pick<JobDeps, 'toolsHttpAllow'>, execution: ExecutionSettings, mode: Mode, tools: Tool[]): void {
  if (mode === 'mcp' && execution.mcp_url) assertUrlAllowed('execution.mcp_url', execution.mcp_url, deps.toolsHttpAllow);
  const notVfs = mode === 'vfs' ? tools.find((t) => !isVfsTool(t.name)) : undefined;
  if (notVfs) throw fail([{ field: 'execution.mode', message: `"vfs" runs read_file, write_file and list_files; tool ${notVfs.name} is not one of them (use "simulated")` }]);
  if (mode !== 'http') return;
  const notHttp = tools.find((t) => !t.origin.http);
  if (notHttp) throw fail([{ field: 'execution.mode', message: `"http" calls OpenAPI operations; tool ${notHttp.name} comes from a ${notHttp.origin.format} definition (use "simulated" or "mcp")` }]);
  if (execution.base_url) return assertUrlAllowed('execution.base_url', execution.base_url, deps.toolsHttpAllow);
  const noServer = tools.find((t) => !t.origin.http?.server);
  if (noServer) throw fail([{ field: 'execution.base_url', message: `the OpenAPI document names no server for ${noServer.name}; give execution.base_url` }]);
  for (const server of new Set(tools.map((t) => t.origin.http?.server ?? ''))) assertUrlAllowed('execution.base_url', server, deps.toolsHttpAllow);
}

/** The difficulty mix as the planner takes it: the shares given (others 0), or the seed's 30/50/20. */
function difficultyMix(spec: ToolsGenerateSpec): Record<Difficulty, number> {
  const given = spec.difficulty;
  if (!given) return { ...DEFAULTS.difficulty };
  return { easy: given.easy ?? 0, medium: given.medium ?? 0, hard: given.hard ?? 0 };
}

/** The spec as the run stores it: inline definitions counted, not copied; header values never kept. */
function storedSpec(spec: ToolsGenerateSpec, extra: Record<string, unknown>) {
  const headers = spec.execution?.headers;
  return {
    ...spec,
    ...(spec.tools !== undefined ? { tools: undefined } : {}),
    ...(headers ? { execution: { ...spec.execution, headers: Object.fromEntries(Object.keys(headers).map((k) => [k, '(redacted)'])) } } : {}),
    ...extra,
  };
}

/**
 * Everything a tool-use request can be refused for before it is planned: its fields, the execution
 * mode against TOOLS_HTTP_ALLOW, and the tools themselves (a stored set, or the inline definition
 * parsed; in vfs mode the VFS tools by default). A pipeline checks its tools stage with it up front.
 */
export async function checkToolsRequest(deps: Pick<JobDeps, 'database' | 'providers' | 'toolsHttpAllow'>, owner: string, spec: Omit<ToolsGenerateSpec, 'dry_run'>) {
  checkSpec(deps, spec);
  const execution = spec.execution ?? {};
  const mode: Mode = execution.mode ?? 'simulated';
  if (mode !== 'vfs') assertExecutionAllowed(mode, deps.toolsHttpAllow);
  await nextTurn();
  const given = spec.tools ?? (mode === 'vfs' && spec.tools_id === undefined ? vfsToolFile() : undefined);
  const resolved = await resolveTools(deps, owner, { tools_id: spec.tools_id, tools: given, format: spec.tools_format });
  checkExecution(deps, execution, mode, resolved.tools);
  return { resolved, execution, mode };
}

/**
 * Plans a tool-use run: the tools resolved (a stored set or an inline definition, any of the four
 * formats), the examples planned by `planExamples` (modes, chains along the dependency graph,
 * difficulty mix, min_per_tool coverage), then one task per example carrying its plan and the
 * offered tools' definitions, so the worker needs nothing else. Kept examples go to the run's
 * dataset, rejected ones (with the stage that failed) to `output.rejected_dataset_id`.
 */
export async function planToolsGenerate(deps: Pick<JobDeps, 'database' | 'providers' | 'toolsHttpAllow'>, input: PlanInput<ToolsGenerateSpec>): Promise<RunPlan> {
  const { spec } = input;
  const { resolved, execution, mode } = await checkToolsRequest(deps, input.owner, spec);
  const { tools } = resolved;

  const minPerTool = spec.min_per_tool ?? DEFAULTS.minPerTool;
  const target = spec.target_examples ?? (spec.per_tool !== undefined ? spec.per_tool * tools.length : Math.max(1, minPerTool * tools.length));
  checkTaskCount(target, spec.per_tool !== undefined ? 'per_tool' : 'target_examples', `${target} examples for ${tools.length} tools`);
  const seed = spec.seed ?? Number.parseInt(hashOf(spec).slice(0, 7), 16);
  const planned = planExamples(tools, {
    mode: spec.mode ?? DEFAULTS.mode,
    target,
    minPerTool,
    maxSteps: Math.min(spec.max_steps ?? DEFAULTS.maxSteps, spec.max_calls ?? Number.POSITIVE_INFINITY),
    difficulty: difficultyMix(spec),
    seed,
  });

  if (spec.max_calls !== undefined) {
    const cap = spec.max_calls;
    planned.plans = planned.plans.map((p) => ({ ...p, ...capCalls(p, cap) }));
    for (const t of Object.keys(planned.coverage)) planned.coverage[t] = planned.plans.filter((p) => p.steps.some((s) => s.includes(t))).length;
  }
  const topics = spec.topics_id ? await topicPaths(deps, input.owner, spec.topics_id) : undefined;
  const rejectedId = newId('ds');
  const byName = new Map(tools.map((t) => [t.name, t]));
  const shared = {
    rejected_dataset_id: rejectedId,
    language: spec.language ?? DEFAULTS.language,
    seed_examples: spec.seed_examples ?? [],
    execution: { ...execution, mode },
    threshold: spec.semantic_check?.threshold ?? DEFAULTS.threshold,
    dataset_system_prompt: spec.dataset_system_prompt ?? DEFAULTS.systemPrompt,
    system_prompt: spec.system_prompt,
    ...(spec.instructions ? { instructions: spec.instructions } : {}),
    llm: spec.llm ?? {},
    attempt: 0,
    regenerate: spec.regenerate ?? DEFAULTS.regenerate,
    avoid: [],
    ...(resolved.toolSetId ? { tool_set_id: resolved.toolSetId } : {}),
  };
  const width = String(planned.plans.length).length;
  const pace = pacer();
  const tasks: NewTask[] = [];
  let bytes = 0;
  for (const plan of planned.plans) {
    const offered = plan.offered.flatMap((name) => byName.get(name) ?? []);
    const topic = topics ? { topic_path: topics.paths[plan.index % topics.paths.length] } : {};
    const payload = { ...shared, ...topic, index: plan.index, mode: plan.mode, difficulty: plan.difficulty, steps: plan.steps, links: plan.links, tools: offered };
    bytes += JSON.stringify(payload).length;
    tasks.push(toolsExampleTask.plan(`e${String(plan.index).padStart(width, '0')}`, payload, spec.max_attempts));
    const turn = pace();
    if (turn) await turn;
  }
  checkPlanBytes(bytes, 'tools', 'every example carries its offered tools\' definitions and the seed_examples: fewer examples or smaller definitions');

  const name = spec.dataset_name ?? `tool-use examples (${tools.length} tools)`;
  return {
    kind: 'tools',
    spec: storedSpec(spec, { ...(spec.tools !== undefined ? { tool_count: tools.length } : {}), seed }),
    requestHash: hashOf(spec),
    tasks,
    dataset: {
      name,
      meta: { kind: 'tool_conversation', source_run_kind: 'tools', ...(resolved.toolSetId ? { tool_set_id: resolved.toolSetId } : {}), ...(spec.topics_id ? { topics_id: spec.topics_id } : {}) },
    },
    extraDatasets: [{ id: rejectedId, name: `${name} (rejected)`, meta: { kind: 'rejected', source_run_kind: 'tools' }, output: 'rejected_dataset_id' }],
    report: {
      examples_planned: planned.plans.length,
      tools: tools.length,
      execution: mode,
      min_per_tool: minPerTool,
      planned_by_mode: planned.byMode,
      planned_per_tool: planned.coverage,
      ...(topics ? { unique_topics: topics.paths.length } : {}),
      warnings: [...resolved.warnings, ...planned.warnings],
    },
  };
}

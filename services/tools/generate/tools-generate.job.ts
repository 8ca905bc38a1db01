import type { JobModule } from '../../jobs/job-module.js';
import { endpoint } from '../../jobs/job-module.js';
import { toolsGenerateEstimates } from './tools-generate.estimate.js';
import { toolsGenerateReport } from './tools-generate.report.js';
import { planToolsGenerate } from './tools-generate.service.js';
import { ToolsGenerateSpec } from './tools-generate.spec.js';
import { toolsExampleTask } from './tools-generate.task.js';

/** An MCP `tools/list` result whose tools chain: list_notes gives the ids get_note takes. */
const mcpTools = {
  tools: [
    {
      name: 'list_notes',
      description: 'List notes, optionally only those with a tag.',
      inputSchema: { type: 'object', properties: { tag: { type: 'string' } } },
      outputSchema: { type: 'object', required: ['notes'], properties: { notes: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, title: { type: 'string' } } } } } },
      annotations: { readOnlyHint: true },
    },
    {
      name: 'get_note',
      description: 'Read one note in full by the id list_notes gave.',
      inputSchema: { type: 'object', required: ['note_id'], properties: { note_id: { type: 'string', description: 'The id of a note' } } },
      outputSchema: { type: 'object', required: ['id', 'body'], properties: { id: { type: 'string' }, body: { type: 'string' } } },
      annotations: { readOnlyHint: true },
    },
  ],
};

/** An OpenAI `tools` array. */
const openaiTools = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather for a city.',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string', description: 'City name' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
        required: ['city'],
      },
    },
  },
];

/** Tool-use (function-calling) examples from any tool definition, each verified before it is kept. */
export const toolsGenerateJob: JobModule = {
  runKind: 'tools',
  endpoint: endpoint({
    path: '/v1/tools/generate',
    operationId: 'createToolsGenerateRun',
    summary: 'Generate verified tool-use (function-calling) examples from tool definitions',
    description:
      'Takes a stored tool set (`tools_id`) or an inline definition (`tools`: Generator JSON, an OpenAI tools array, an MCP tools/list result or an ' +
      'OpenAPI document). Examples are planned first — `mode` single, multi (chains along the tools\' parameter dependency graph, parallel calls ' +
      'where they fit) or auto (balanced by complexity), the `difficulty` mix, every tool in at least `min_per_tool` examples — and each is then ' +
      'written chain-first: a user request that needs the planned calls, each step\'s thought and arguments (forced by the schema to the planned ' +
      'tools, later steps using earlier results), the calls executed (`execution.mode` simulated by the teacher, or really over `http` or `mcp` ' +
      'on allow-listed URLs), and the final answer. Every example is verified for format (arguments valid against the tool\'s JSON Schema), ' +
      'execution (every call ok) and meaning (a judge; a judge error never passes an example). Kept examples are `tool_conversation` records ' +
      'with the offered tools\' documentation; rejected ones go to `output.rejected_dataset_id` with `rejected_stage` and `rejected_reason`, and ' +
      'the plan is tried afresh up to `regenerate` times. The run report gives counts by tool, mode, difficulty and failed stage, and coverage.',
    body: ToolsGenerateSpec,
    examples: {
      'application/json': {
        auto: {
          summary: 'Auto mode over an inline MCP tools/list result, simulated execution',
          value: { tools: mcpTools, target_examples: 4, min_per_tool: 1, semantic_check: { threshold: 0 } },
        },
        single: {
          summary: 'One call per example from an OpenAI tools array, in French',
          value: { tools: openaiTools, mode: 'single', per_tool: 2, min_per_tool: 1, language: 'French', semantic_check: { threshold: 0 } },
        },
      },
    },
    plan: (deps, input) => planToolsGenerate(deps, input),
  }),
  tasks: [toolsExampleTask],
  estimates: toolsGenerateEstimates,
  report: (deps, run) => toolsGenerateReport(deps.database, run),
  stage: {
    name: 'tools',
    plan(deps, stage) {
      // Stage 0 carries its full spec (header values included); a later one reads the stored spec.
      const spec = stage.carriedTools ?? stage.pipeline.tools;
      if (!spec) throw new Error('the pipeline has no tools stage');
      const topicsId = stage.previous?.topics_id;
      return planToolsGenerate(deps, { owner: stage.owner, spec: topicsId ? { ...spec, topics_id: topicsId } : spec });
    },
  },
};

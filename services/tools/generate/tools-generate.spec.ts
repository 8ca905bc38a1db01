import { Type, type Static } from '@sinclair/typebox';
import { dryRun, jobOptions } from '../../jobs/job-options.js';
import { ID_PATTERN } from '../../../src/ids.js';
import { LIMITS } from '../../limits.js';
import { EXECUTION_MODES } from '../tool.js';
import { ToolsInput } from '../tools-input.js';

const fmt = (n: number) => n.toLocaleString('en-US');
const Share = Type.Number({ minimum: 0, maximum: 1 });

/** Where the tools are really called (or played by the teacher) while an example is made. */
export const ExecutionSettings = Type.Object(
  {
    mode: Type.Optional(
      Type.Union(EXECUTION_MODES.map((m) => Type.Literal(m)), {
        description:
          'simulated (default): the teacher plays the API and must answer valid against the tool\'s `returns` schema; http: OpenAPI tools are really called ' +
          '(only on base URLs listed in TOOLS_HTTP_ALLOW); mcp: tools are called on an MCP server over streamable HTTP (an allow-listed `mcp_url`); ' +
          'vfs: DeepFabric\'s builtin file tools (read_file, write_file, list_files; the default `tools` in this mode) run on an in-memory file system of ' +
          'each example\'s own, seeded from `files`',
      }),
    ),
    files: Type.Optional(
      Type.Array(Type.Object({ path: Type.String({ minLength: 1, maxLength: 1_000 }), content: Type.String({ maxLength: 100_000 }) }, { additionalProperties: false }), {
        maxItems: 100,
        description: 'vfs: the files every example\'s file system starts with, in the order list_files lists them (DeepFabric `scenario_seed.files`)',
      }),
    ),
    base_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2_000, description: 'http: the API base URL (default: the OpenAPI document\'s first server)' })),
    mcp_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2_000, description: 'mcp: the server\'s streamable HTTP endpoint' })),
    headers: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]{1,100}$' }), Type.String({ maxLength: 8_000 }), {
        maxProperties: 20,
        description: 'http/mcp: headers sent with every call (e.g. authorization); the stored run spec keeps their names only',
      }),
    ),
  },
  { additionalProperties: false, description: 'How tool calls are executed (default simulated)' },
);
export type ExecutionSettings = Static<typeof ExecutionSettings>;

/** A request and (optionally) its solution, shown to the teacher as the style wanted. */
export const SeedExample = Type.Object(
  {
    instruction: Type.String({ minLength: 1, maxLength: 4_000 }),
    solution: Type.Optional(Type.String({ maxLength: 8_000, description: 'The calls that solve it, in words or as JSON' })),
  },
  { additionalProperties: false },
);

export const DifficultyMix = Type.Object(
  { easy: Type.Optional(Share), medium: Type.Optional(Share), hard: Type.Optional(Share) },
  { additionalProperties: false, description: 'Shares of examples by difficulty (normalised; default easy 0.3, medium 0.5, hard 0.2, the seed\'s mix)' },
);

export const ToolsGenerateSpec = Type.Object(
  {
    ...ToolsInput,
    mode: Type.Optional(
      Type.Union([Type.Literal('single'), Type.Literal('multi'), Type.Literal('auto')], {
        description: 'single: one call per example; multi: chains along the parameter dependency graph; auto (default): the mix balanced by tool complexity',
      }),
    ),
    target_examples: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.tasksPerRun, description: 'Examples to make in all (give this or per_tool; default tools × min_per_tool)' })),
    per_tool: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.toolExamplesPerTool, description: 'Examples per tool: target_examples = per_tool × tools' })),
    min_per_tool: Type.Optional(Type.Integer({ minimum: 0, maximum: LIMITS.toolExamplesPerTool, description: 'Examples every tool must appear in (default 10, the seed\'s coverage bar)' })),
    max_calls: Type.Optional(
      Type.Integer({ minimum: 1, maximum: LIMITS.toolMaxSteps * 2, description: 'Tool calls in one example at most, parallel ones included (DeepFabric `max_per_query`; default no cap beyond max_steps)' }),
    ),
    topics_id: Type.Optional(
      Type.String({
        pattern: ID_PATTERN('tp'),
        description: 'A topic tree or graph (POST /v1/topics): example i is written for unique topic path i (cycling), the path given to the teacher with the request to write',
      }),
    ),
    instructions: Type.Optional(Type.String({ maxLength: 20_000, description: 'Guidance added to the prompt that writes each request (DeepFabric `generation.system_prompt` and `instructions`)' })),
    max_steps: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.toolMaxSteps, description: `Steps of a multi-step chain at most (default 5, at most ${LIMITS.toolMaxSteps})` })),
    difficulty: Type.Optional(DifficultyMix),
    language: Type.Optional(Type.String({ minLength: 2, maxLength: 50, description: 'Language of the requests and answers (default English)' })),
    seed_examples: Type.Optional(Type.Array(SeedExample, { maxItems: LIMITS.toolSeedExamples, description: `Up to ${LIMITS.toolSeedExamples} example requests shown to the teacher` })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: 'Seeds the plan: the same seed and tools plan the same chains' })),
    execution: Type.Optional(ExecutionSettings),
    semantic_check: Type.Optional(
      Type.Object(
        { threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'The judge\'s confidence an example needs besides `correct` (default 0.6)' })) },
        { additionalProperties: false, description: 'The judge deciding whether a solution accomplishes its request' },
      ),
    ),
    regenerate: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 5, description: 'A rejected example is made afresh (a new request for the same plan) up to this many times (default 2)' }),
    ),
    dataset_system_prompt: Type.Optional(Type.String({ maxLength: 20_000, description: 'The system message every example starts with (default: brief tool-use guidance; "": none)' })),
    ...jobOptions,
    ...dryRun,
  },
  {
    additionalProperties: false,
    description: `Tool-use examples (at most ${fmt(LIMITS.tasksPerRun)} per run), each verified for format, execution and meaning before it is kept`,
  },
);

export type ToolsGenerateSpec = Static<typeof ToolsGenerateSpec>;

export const DEFAULTS = {
  mode: 'auto',
  minPerTool: 10,
  maxSteps: 5,
  difficulty: { easy: 0.3, medium: 0.5, hard: 0.2 },
  language: 'English',
  threshold: 0.6,
  regenerate: 2,
  systemPrompt: 'You are a helpful assistant with access to the tools below. Call them when they are needed to answer, use their results, and then answer the user.',
} as const;

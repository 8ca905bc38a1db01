import { Type, type Static } from '@sinclair/typebox';

/**
 * The one normalised tool every tool-use feature reads, whatever the definition it came from
 * (Generator's JSON, an OpenAI `tools` array, an MCP `tools/list` result, an OpenAPI document).
 */

/** A JSON Schema as a plain object (parameters, returns). */
export const JsonSchemaObject = Type.Record(Type.String(), Type.Unknown());
export type JsonSchemaObject = Static<typeof JsonSchemaObject>;

/** Names every provider accepts for a function (OpenAI's and Anthropic's rule). */
export const TOOL_NAME_PATTERN = '^[a-zA-Z0-9_-]{1,64}$';

export const TOOL_FORMATS = ['generator', 'openai', 'mcp', 'openapi'] as const;
export type ToolFormat = (typeof TOOL_FORMATS)[number];

export const COMPLEXITIES = ['simple', 'medium', 'complex'] as const;
export type Complexity = (typeof COMPLEXITIES)[number];

/** Where an OpenAPI operation's argument goes when the tool is really called (`http` execution). */
export const ARGUMENT_LOCATIONS = ['path', 'query', 'header', 'body'] as const;

export const ToolOrigin = Type.Object({
  format: Type.Union(TOOL_FORMATS.map((f) => Type.Literal(f))),
  /** The definition's own id (Generator's `tool_id`, an OpenAPI `operationId`). */
  id: Type.Optional(Type.String()),
  /** OpenAPI tools: how to call the operation. */
  http: Type.Optional(
    Type.Object({
      method: Type.String(),
      /** The path template, e.g. `/pets/{petId}`. */
      path: Type.String(),
      /** The document's first server URL, when it has one. */
      server: Type.Optional(Type.String()),
      /** Each top-level argument's location; body properties are merged into the parameters. */
      locations: Type.Record(Type.String(), Type.Union(ARGUMENT_LOCATIONS.map((l) => Type.Literal(l)))),
      /** The body's content type when the operation takes one. */
      body_content_type: Type.Optional(Type.String()),
      /**
       * When set, this argument is the whole request body (a body that is not an object with
       * properties, or whose properties clash with a parameter's name); otherwise each `body`
       * argument is one property of a JSON object body.
       */
      body_argument: Type.Optional(Type.String()),
    }),
  ),
  /** MCP tools: `annotations` as the server gave them (readOnlyHint, idempotentHint, …). */
  annotations: Type.Optional(JsonSchemaObject),
});
export type ToolOrigin = Static<typeof ToolOrigin>;

export const Tool = Type.Object({
  name: Type.String({ pattern: TOOL_NAME_PATTERN }),
  description: Type.String(),
  /** JSON Schema of the arguments: always `{ type: 'object', properties, required? }`, `$ref`s resolved. */
  parameters: JsonSchemaObject,
  /** JSON Schema of the result, when the definition gives one (Generator `returns`, MCP `outputSchema`, OpenAPI 2xx). */
  returns: Type.Optional(JsonSchemaObject),
  category: Type.String(),
  complexity: Type.Union(COMPLEXITIES.map((c) => Type.Literal(c))),
  /** Example requests in words (Generator `examples`). */
  examples: Type.Array(Type.String()),
  origin: ToolOrigin,
});
export type Tool = Static<typeof Tool>;

/** A tool's API documentation as an example carries it (OpenAI's `tools` entry shape). */
export const toolDefinition = (t: Tool) => ({
  type: 'function' as const,
  function: { name: t.name, description: t.description, parameters: t.parameters },
});

/** What really calling a tool (or simulating it) gave. */
export type ExecutionResult =
  | { ok: true; result: unknown }
  | { ok: false; reason: string; /** worth another try (a timeout, a 5xx), not a refusal or a 4xx */ retryable: boolean };

/** Calls one tool with its arguments: simulated by the teacher, over HTTP (OpenAPI), or on an MCP server. */
/** How an example's calls are executed: played by the teacher, over HTTP, on an MCP server, or on Quarry's in-memory VFS. */
export const EXECUTION_MODES = ['simulated', 'http', 'mcp', 'vfs'] as const;
export type ExecutionMode = (typeof EXECUTION_MODES)[number];

export interface ToolExecutor {
  readonly mode: ExecutionMode;
  execute(tool: Tool, args: Record<string, unknown>, signal: AbortSignal): Promise<ExecutionResult>;
}

import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN } from '../../src/ids.js';
import { TOOL_FORMATS, Tool } from './tool.js';

/** A stored tool set's id. */
export const ToolSetId = Type.String({ pattern: ID_PATTERN('tl'), description: 'Tool set id (tl_ + 24 hex)' });

export const ToolFormatSchema = Type.Union(TOOL_FORMATS.map((f) => Type.Literal(f)), {
  description: 'generator (Generator JSON), openai (a `tools` array), mcp (a `tools/list` result), openapi (an OpenAPI 3.0/3.1 document)',
});

/** What Generator's `tool-parse` prints: how many, by category and complexity, and what looked wrong without being fatal. */
export const ToolSummary = Type.Object({
  total: Type.Integer(),
  by_category: Type.Record(Type.String(), Type.Integer()),
  by_complexity: Type.Object({ simple: Type.Integer(), medium: Type.Integer(), complex: Type.Integer() }),
  warnings: Type.Array(Type.String()),
});
export type ToolSummary = Static<typeof ToolSummary>;

/** A stored tool set as the API answers it. */
export const ToolSetView = Type.Object({
  id: ToolSetId,
  name: Type.String(),
  format: ToolFormatSchema,
  tools: Type.Array(Tool),
  summary: ToolSummary,
  created_at: Type.String(),
});
export type ToolSetView = Static<typeof ToolSetView>;

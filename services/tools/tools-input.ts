import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN } from '../../src/ids.js';
import { ToolFormatSchema } from './tool-set.js';

/**
 * The request fields a job takes its tools from, apart from the service that resolves them, so a
 * spec (and the pipeline spec that embeds one) does not depend on the services' dependencies.
 */

/** A definition in any of the four formats, as a request carries it: a JSON object or array, or JSON/YAML text. */
export const ToolDefinition = Type.Union(
  [Type.Object({}, { additionalProperties: true }), Type.Array(Type.Object({}, { additionalProperties: true })), Type.String()],
  { description: 'Generator JSON { name, tools: [...] }, an OpenAI tools array, an MCP tools/list result { tools: [...] }, or an OpenAPI 3.0/3.1 document (object, or JSON/YAML text)' },
);

/** What a job spec spreads in to take tools: a stored set, or an inline definition (exactly one). */
export const ToolsInput = {
  tools_id: Type.Optional(Type.String({ pattern: ID_PATTERN('tl'), description: 'A tool set stored with POST /v1/tools (give this or `tools`)' })),
  tools: Type.Optional(ToolDefinition),
  tools_format: Type.Optional(ToolFormatSchema),
};

export type ToolsInput = { [K in keyof typeof ToolsInput]?: Static<(typeof ToolsInput)[K]> };

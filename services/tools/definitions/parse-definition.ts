import type { Tool, ToolFormat } from '../tool.js';
import type { ToolSummary } from '../tool-set.js';
import { LIMITS } from '../../limits.js';
import { decodeText, detectFormat } from './detect.js';
import { parseGenerator } from './generator.format.js';
import { parseMcp } from './mcp.format.js';
import { badTool, isObject, type ParsedTools } from './normalise.js';
import { parseOpenAi } from './openai.format.js';
import { parseOpenApi } from './openapi.format.js';
import { summarize } from './summary.js';
import { toolWarnings, validateTools } from './validate.js';

export interface ParsedDefinition {
  format: ToolFormat;
  /** The definition's own name, when it has one (Generator `name`, OpenAPI `info.title`). */
  title?: string;
  tools: Tool[];
  summary: ToolSummary;
}

/**
 * Any of the four definition formats → normalised, validated tools and Generator's `tool-parse`
 * summary. `field` is where the definition sits in the request (`definition`, a job's `tools`),
 * so every 400 names the tool and the path to its faulty field.
 */
export async function parseDefinition(input: unknown, options: { format?: ToolFormat; field: string }): Promise<ParsedDefinition> {
  const { field } = options;
  const definition = typeof input === 'string' ? decodeText(input, field) : input;
  const bytes = JSON.stringify(definition ?? null).length;
  if (bytes > LIMITS.toolDefinitionBytes) throw badTool(field, undefined, `the definition is ${bytes} bytes as JSON; at most ${LIMITS.toolDefinitionBytes / 2 ** 20} MiB`);
  const format = options.format ?? detectFormat(definition, field);
  const parsed = await parseAs(format, definition, field);
  validateTools(parsed, field);
  return { format, title: titleOf(definition), tools: parsed.tools, summary: summarize(parsed.tools, [...new Set([...parsed.warnings, ...toolWarnings(parsed.tools)])]) };
}

async function parseAs(format: ToolFormat, definition: unknown, field: string): Promise<ParsedTools> {
  switch (format) {
    case 'generator':
      if (!isObject(definition)) throw badTool(field, undefined, 'a Generator tool file is an object { name, tools: [...] }');
      return parseGenerator(definition, field);
    case 'openai':
      if (Array.isArray(definition)) return parseOpenAi(definition, field);
      if (isObject(definition) && Array.isArray(definition.tools)) return parseOpenAi(definition.tools, `${field}.tools`);
      throw badTool(field, undefined, 'OpenAI tools are an array [{ type: "function", function: { name, description, parameters } }]');
    case 'mcp':
      if (Array.isArray(definition)) return parseMcp(definition, field);
      if (isObject(definition) && Array.isArray(definition.tools)) return parseMcp(definition.tools, `${field}.tools`);
      throw badTool(field, undefined, 'an MCP tools/list result is { tools: [{ name, description, inputSchema }] }');
    case 'openapi':
      if (!isObject(definition)) throw badTool(field, undefined, 'an OpenAPI document is an object (or its JSON or YAML text)');
      return parseOpenApi(definition, field);
  }
}

function titleOf(definition: unknown): string | undefined {
  if (!isObject(definition)) return undefined;
  const name = typeof definition.name === 'string' ? definition.name : isObject(definition.info) ? definition.info.title : undefined;
  return typeof name === 'string' && name.trim() !== '' ? name.trim().slice(0, 200) : undefined;
}

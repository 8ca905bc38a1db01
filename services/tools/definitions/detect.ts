import { Lexer, parse as parseYaml } from 'yaml';
import { assertAcceptable } from '../../../src/safe-input.js';
import { LIMITS } from '../../limits.js';
import type { ToolFormat } from '../tool.js';
import { badTool, isObject } from './normalise.js';

/**
 * Which of the four formats a definition is, from its shape alone:
 * - an object with `openapi` (a string version) is an OpenAPI document;
 * - an object with a `tools` list, or a bare list, is Generator's when its tools have `tool_id`
 *   or a `parameters` list, MCP's when they have `inputSchema`, OpenAI's when they are
 *   `{ type: 'function', function }` or bare functions with a `parameters` object.
 * A string is JSON or YAML text of any of them (OpenAPI documents are often YAML).
 */
export function detectFormat(definition: unknown, field: string): ToolFormat {
  if (isObject(definition)) {
    if (typeof definition.openapi === 'string') return 'openapi';
    if (definition.swagger !== undefined) throw badTool(field, undefined, 'Swagger 2.0 documents are not read; convert it to OpenAPI 3 (e.g. with swagger2openapi)');
    if (Array.isArray(definition.tools)) {
      // Generator's files name themselves (`name`, `version`); an MCP result or an OpenAI wrapper does not.
      const named = typeof definition.name === 'string' || typeof definition.version === 'string';
      return listFormat(definition.tools, `${field}.tools`, 'generator', named);
    }
    if (isObject(definition.paths)) throw badTool(`${field}.openapi`, undefined, 'an OpenAPI document needs its "openapi" version field (3.0.x or 3.1.x)');
  }
  if (Array.isArray(definition)) return listFormat(definition, field, 'openai', false);
  throw badTool(field, undefined, 'not a tool definition Quarry can read: expected a Generator tool file, an OpenAI tools array, an MCP tools/list result or an OpenAPI 3 document (or give "format")');
}

/**
 * A list of tools: decided by its first tool, or by a Generator file's own `name`; an empty list
 * (refused later as empty) is read as Generator's when wrapped, OpenAI's when bare.
 */
function listFormat(list: unknown[], field: string, whenEmpty: ToolFormat, generatorFile: boolean): ToolFormat {
  if (list.length === 0) return whenEmpty;
  const first = list[0];
  if (!isObject(first)) throw badTool(`${field}[0]`, undefined, 'each tool must be an object');
  if (first.type === 'function' || isObject(first.function)) return 'openai';
  if ('inputSchema' in first) return 'mcp';
  if ('tool_id' in first || Array.isArray(first.parameters) || generatorFile) return 'generator';
  if (isObject(first.parameters)) return 'openai';
  throw badTool(`${field}[0]`, typeof first.name === 'string' ? first.name : undefined, 'cannot tell the format from this tool: expected inputSchema (MCP), parameters as a list (Generator) or as a JSON Schema (OpenAI); give "format"');
}

/**
 * A definition sent as text: JSON first, then YAML (bytes and YAML tokens capped before parsing,
 * aliases capped against expansion, and the result refused like a JSON body if it holds what
 * Postgres cannot store).
 */
export function decodeText(text: string, field: string): unknown {
  const bytes = Buffer.byteLength(text);
  if (bytes > LIMITS.toolDefinitionBytes) throw badTool(field, undefined, `the definition is ${bytes} bytes; at most ${LIMITS.toolDefinitionBytes / 2 ** 20} MiB`);
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  let value: unknown;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      value = JSON.parse(trimmed);
    } catch (err) {
      throw badTool(field, undefined, `not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  } else {
    // The lexer counts tokens cheaply and stops at the bound, before the costly parse.
    let tokens = 0;
    for (const _ of new Lexer().lex(trimmed)) {
      if (++tokens > LIMITS.toolYamlTokens) throw badTool(field, undefined, `the YAML text has more than ${LIMITS.toolYamlTokens.toLocaleString('en-US')} tokens; send a larger definition as JSON`);
    }
    try {
      // Repeated keys keep the last value (checking them is quadratic in the yaml library); aliases are capped against expansion.
      value = parseYaml(trimmed, { uniqueKeys: false, maxAliasCount: LIMITS.yamlAliases });
    } catch (err) {
      throw badTool(field, undefined, `not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  assertAcceptable(value, field);
  return value;
}

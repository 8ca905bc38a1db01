import type { Tool } from '../tool.js';
import { badTool, complexityOf, isObject, optionalString, objectSchema, toolName, type ParsedTools } from './normalise.js';

/**
 * An OpenAI `tools` array: `[{ type: 'function', function: { name, description, parameters, strict? } }]`,
 * or the bare function form `[{ name, description, parameters }]` (the legacy `functions` list).
 * OpenAI definitions carry no result schema, category or complexity.
 */
export function parseOpenAi(list: unknown[], root: string): ParsedTools {
  const warnings: string[] = [];
  const nameFields: string[] = [];
  const tools = list.map((raw, i): Tool => {
    const at = `${root}[${i}]`;
    if (!isObject(raw)) throw badTool(at, undefined, 'each tool must be an object');
    let fn: Record<string, unknown> = raw;
    let fnAt = at;
    if (raw.type !== undefined || raw.function !== undefined) {
      if (raw.type !== 'function') throw badTool(`${at}.type`, optionalString(raw.name), `only function tools can be called; got type ${JSON.stringify(raw.type ?? null)}`);
      if (!isObject(raw.function)) throw badTool(`${at}.function`, undefined, 'a function tool needs a "function" object { name, description, parameters }');
      fn = raw.function;
      fnAt = `${at}.function`;
    }
    const name = toolName(fn.name, `${fnAt}.name`);
    nameFields.push(`${fnAt}.name`);
    const parameters = objectSchema(fn.parameters, `${fnAt}.parameters`, name);
    return {
      name,
      description: optionalString(fn.description) ?? '',
      parameters,
      category: 'general',
      complexity: complexityOf(parameters),
      examples: [],
      origin: { format: 'openai' },
    };
  });
  return { tools, nameFields, warnings };
}

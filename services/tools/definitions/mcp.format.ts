import type { Tool } from '../tool.js';
import { badTool, complexityOf, isObject, objectSchema, optionalReturns, optionalString, returnsSchema, toolName, type ParsedTools } from './normalise.js';

/**
 * An MCP `tools/list` result: `{ tools: [{ name, title?, description, inputSchema, outputSchema?,
 * annotations? }] }` (or the bare list). `outputSchema` becomes `returns`; `annotations`
 * (readOnlyHint, idempotentHint, …) are kept on the origin for execution to read; a `title`
 * stands in for a missing description.
 */
export function parseMcp(list: unknown[], root: string): ParsedTools {
  const warnings: string[] = [];
  const nameFields: string[] = [];
  const tools = list.map((raw, i): Tool => {
    const at = `${root}[${i}]`;
    if (!isObject(raw)) throw badTool(at, undefined, 'each tool must be an object');
    const name = toolName(raw.name, `${at}.name`);
    nameFields.push(`${at}.name`);
    const parameters = objectSchema(raw.inputSchema, `${at}.inputSchema`, name);
    const returns = returnsSchema(raw.outputSchema, `${at}.outputSchema`, name);
    if (returns && returns.type !== 'object') throw badTool(`${at}.outputSchema`, name, 'MCP requires outputSchema to be an object schema (type "object")');
    if (raw.annotations !== undefined && !isObject(raw.annotations)) throw badTool(`${at}.annotations`, name, 'annotations must be an object');
    return {
      name,
      description: optionalString(raw.description) ?? optionalString(raw.title) ?? '',
      parameters,
      ...optionalReturns(returns),
      category: 'general',
      complexity: complexityOf(parameters),
      examples: [],
      origin: { format: 'mcp', ...(isObject(raw.annotations) ? { annotations: raw.annotations } : {}) },
    };
  });
  return { tools, nameFields, warnings };
}

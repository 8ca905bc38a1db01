import { Value } from '@sinclair/typebox/value';
import { LIMITS } from '../../limits.js';
import { Tool, TOOL_NAME_PATTERN } from '../tool.js';
import { badTool, validToolName, type ParsedTools } from './normalise.js';

/**
 * The checks every format shares, on the normalised tools: at least one tool and at most
 * LIMITS.toolsPerSet, names every provider accepts (OpenAI and Anthropic refuse others), no name
 * twice (a model could not tell which one it called). Each failure is a 400 naming the tool and
 * the field it came from.
 */
export function validateTools(parsed: ParsedTools, root: string): void {
  const { tools, nameFields } = parsed;
  if (tools.length === 0) throw badTool(root, undefined, 'the definition has no tools');
  if (tools.length > LIMITS.toolsPerSet) throw badTool(root, undefined, `the definition has ${tools.length.toLocaleString('en-US')} tools; at most ${LIMITS.toolsPerSet.toLocaleString('en-US')} per set`);
  const seen = new Map<string, string>();
  tools.forEach((tool, i) => {
    const field = nameFields[i] ?? root;
    if (!validToolName(tool.name)) {
      throw badTool(field, tool.name, `the name is not one providers accept: it must match ${TOOL_NAME_PATTERN} (letters, digits, _ and -, at most 64)`);
    }
    const first = seen.get(tool.name);
    if (first !== undefined) throw badTool(field, tool.name, `the name is used twice (first at ${first}); tool names must be unique`);
    seen.set(tool.name, field);
    // The parsers build these shapes themselves; a failure here is a definition value they passed through.
    const error = Value.Errors(Tool, tool).First();
    if (error) throw badTool(`${field.replace(/\.(name|operationId)$/, '')}${error.path.replace(/\//g, '.')}`, tool.name, error.message);
  });
}

/** Warnings each tool earns whatever its format: what generation works less well without. */
export function toolWarnings(tools: Tool[]): string[] {
  const out: string[] = [];
  for (const tool of tools) {
    if (tool.description.trim() === '') out.push(`${tool.name}: no description (the teacher and the trained model see only its name)`);
    if (!tool.returns) out.push(`${tool.name}: no returns schema (simulated results cannot be checked against one)`);
  }
  return out;
}

import type { JsonSchemaObject, Tool } from '../tool.js';
import { badTool, complexityOf, complexityWord, isObject, optionalReturns, optionalString, stringList, toolName, type ParsedTools } from './normalise.js';

/**
 * Generator's tool file (`{ name, version, description, tools: [{ tool_id, name, category,
 * description, parameters: [{ name, type, required, default, description }], returns, examples,
 * complexity }] }`, e.g. hdf5_tools.json). Its parameter list becomes one object schema; its
 * loose type words become JSON Schema types.
 */

/** Generator's type words → JSON Schema. `any` (and an unknown word) constrains nothing. */
const TYPE_WORDS: Record<string, JsonSchemaObject> = {
  string: { type: 'string' }, str: { type: 'string' }, text: { type: 'string' },
  path: { type: 'string' }, file: { type: 'string' }, url: { type: 'string', format: 'uri' },
  integer: { type: 'integer' }, int: { type: 'integer' },
  number: { type: 'number' }, float: { type: 'number' }, double: { type: 'number' },
  boolean: { type: 'boolean' }, bool: { type: 'boolean' },
  array: { type: 'array' }, list: { type: 'array' },
  object: { type: 'object' }, dict: { type: 'object' },
  null: { type: 'null' }, none: { type: 'null' },
  any: {},
};

function typeSchema(word: unknown, field: string, tool: string, warnings: string[]): JsonSchemaObject {
  if (word === undefined) return {};
  if (typeof word !== 'string') throw badTool(field, tool, 'type must be a word such as "string" or "integer"');
  const known = TYPE_WORDS[word.trim().toLowerCase()];
  if (known) return { ...known };
  warnings.push(`${tool}: ${field} "${word}" is not a type Quarry knows; it is read as any value`);
  return {};
}

/** The JSON Schema keywords a Generator parameter may carry beside its own fields. */
const PASSED_THROUGH = ['enum', 'items', 'properties', 'minimum', 'maximum', 'format', 'pattern', 'minLength', 'maxLength', 'minItems', 'maxItems'];

function parametersOf(list: unknown, field: string, tool: string, warnings: string[]): JsonSchemaObject {
  if (list === undefined || list === null) return { type: 'object', properties: {} };
  if (!Array.isArray(list)) throw badTool(field, tool, 'parameters must be a list of { name, type, required, default, description }');
  const properties: Record<string, JsonSchemaObject> = {};
  const required: string[] = [];
  list.forEach((p, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(p)) throw badTool(at, tool, 'each parameter must be an object { name, type, required, default, description }');
    const name = p.name;
    if (typeof name !== 'string' || name === '') throw badTool(`${at}.name`, tool, 'each parameter needs a non-empty string name');
    if (name in properties) throw badTool(`${at}.name`, tool, `parameter "${name}" is listed twice`);
    const schema = typeSchema(p.type, `${at}.type`, tool, warnings);
    for (const key of PASSED_THROUGH) if (p[key] !== undefined) schema[key] = p[key];
    const description = optionalString(p.description);
    if (description) schema.description = description;
    else warnings.push(`${tool}: parameter "${name}" has no description`);
    if (p.default !== undefined && p.default !== null) schema.default = p.default;
    properties[name] = schema;
    if (p.required === true) required.push(name);
  });
  return required.length ? { type: 'object', properties, required } : { type: 'object', properties };
}

function returnsOf(value: unknown, field: string, tool: string, warnings: string[]): JsonSchemaObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw badTool(field, tool, 'returns must be an object { type, description }');
  const { type, description, ...rest } = value;
  const schema: JsonSchemaObject = { ...rest, ...typeSchema(type, `${field}.type`, tool, warnings) };
  if (typeof description === 'string' && description !== '') schema.description = description;
  return schema;
}

export function parseGenerator(definition: Record<string, unknown>, root: string): ParsedTools {
  const warnings: string[] = [];
  const nameFields: string[] = [];
  const list = definition.tools;
  if (!Array.isArray(list)) throw badTool(`${root}.tools`, undefined, 'a Generator tool file needs a "tools" list');
  const tools = list.map((raw, i): Tool => {
    const at = `${root}.tools[${i}]`;
    if (!isObject(raw)) throw badTool(at, undefined, 'each tool must be an object');
    const name = toolName(raw.name, `${at}.name`);
    nameFields.push(`${at}.name`);
    const parameters = parametersOf(raw.parameters, `${at}.parameters`, name, warnings);
    const given = complexityWord(raw.complexity);
    if (raw.complexity !== undefined && !given) warnings.push(`${name}: complexity "${String(raw.complexity)}" is not simple, medium or complex; estimated from its parameters`);
    const toolId = optionalString(raw.tool_id);
    return {
      name,
      description: optionalString(raw.description) ?? '',
      parameters,
      ...optionalReturns(returnsOf(raw.returns, `${at}.returns`, name, warnings)),
      category: optionalString(raw.category) ?? 'general',
      complexity: given ?? complexityOf(parameters),
      examples: stringList(raw.examples),
      origin: { format: 'generator', ...(toolId ? { id: toolId } : {}) },
    };
  });
  return { tools, nameFields, warnings };
}

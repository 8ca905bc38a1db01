import { AppError } from '../../../src/errors.js';
import { TOOL_NAME_PATTERN, type Complexity, type JsonSchemaObject, type Tool } from '../tool.js';
import { isRecord } from '../../../src/plain-object.js';

/** What each format's parser gives: normalised tools, and what looked wrong without being fatal. */
export interface ParsedTools {
  tools: Tool[];
  /** Where each tool's name is in the request (`definition.tools[3].name`), for errors found after parsing. */
  nameFields: string[];
  warnings: string[];
}

export const isObject = isRecord;

const NAME = new RegExp(TOOL_NAME_PATTERN);
export const validToolName = (name: string) => NAME.test(name);

/**
 * A bad definition: a 400 naming the tool and the field (its path in the request, e.g.
 * `definition.tools[3].parameters`), so a caller with a thousand tools finds the one at fault.
 */
export function badTool(field: string, tool: string | undefined, message: string): AppError {
  const text = tool === undefined ? message : `tool "${tool}": ${message}`;
  return new AppError('validation_failed', `${field}: ${text}`, [{ field, message: text, ...(tool === undefined ? {} : { tool }) }]);
}

/** A tool's name as the definition gave it, or a 400 naming the field when it has none. */
export function toolName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw badTool(field, undefined, 'a tool needs a non-empty string name');
  return value;
}

/**
 * `parameters` must be an object schema: every provider sends the arguments as one JSON object.
 * A schema without `type` but with `properties` is read as an object; an absent one is no arguments.
 */
export function objectSchema(value: unknown, field: string, tool: string): JsonSchemaObject {
  if (value === undefined || value === null) return { type: 'object', properties: {} };
  if (!isObject(value)) throw badTool(field, tool, 'parameters must be a JSON Schema object with type "object"');
  const type = value.type ?? (isObject(value.properties) ? 'object' : undefined);
  if (type !== 'object') throw badTool(field, tool, `parameters must be an object schema (type "object"), got ${JSON.stringify(value.type ?? null)}`);
  if (value.properties !== undefined && !isObject(value.properties)) throw badTool(`${field}.properties`, tool, 'properties must be an object');
  if (value.required !== undefined && !(Array.isArray(value.required) && value.required.every((r) => typeof r === 'string'))) {
    throw badTool(`${field}.required`, tool, 'required must be an array of property names');
  }
  return { ...value, type: 'object', properties: value.properties ?? {} };
}

/** An optional result schema: kept when it is a JSON object, else a 400 naming the field. */
export function returnsSchema(value: unknown, field: string, tool: string): JsonSchemaObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw badTool(field, tool, 'the result schema must be a JSON Schema object');
  return value;
}

export const optionalString = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);

const nestedProperties = (schema: unknown): number => {
  if (!isObject(schema)) return 0;
  const items = isObject(schema.items) ? schema.items : undefined;
  const props = isObject(schema.properties) ? schema.properties : isObject(items?.properties) ? items.properties : undefined;
  if (!props) return 0;
  return Object.values(props).reduce<number>((n, p) => n + 1 + nestedProperties(p), 0);
};

/**
 * Complexity when the definition does not give one, from the arguments alone: each top-level
 * parameter counts 1, each property nested inside an object or array-of-objects parameter 2
 * (a structured argument is harder to fill right). Up to 2 is simple, up to 6 medium, more complex.
 * It matches Generator's own labels on 15 of hdf5_tools.json's 24 tools; Generator rates the rest
 * higher for what they do rather than for their arguments, which is why a given label always wins.
 */
export function complexityOf(parameters: JsonSchemaObject): Complexity {
  const props = isObject(parameters.properties) ? Object.values(parameters.properties) : [];
  const score = props.reduce<number>((n, p) => n + 1 + 2 * nestedProperties(p), 0);
  return score <= 2 ? 'simple' : score <= 6 ? 'medium' : 'complex';
}

/** Words Generator's files and similar hand-written sets use for complexity. */
const COMPLEXITY_WORDS: Record<string, Complexity> = {
  simple: 'simple', easy: 'simple', low: 'simple', basic: 'simple',
  medium: 'medium', moderate: 'medium', intermediate: 'medium', normal: 'medium',
  complex: 'complex', hard: 'complex', high: 'complex', advanced: 'complex', difficult: 'complex',
};

export const complexityWord = (value: unknown): Complexity | undefined =>
  typeof value === 'string' ? COMPLEXITY_WORDS[value.trim().toLowerCase()] : undefined;

/** Strings of a list, or nothing: examples are kept only when they are words. */
export const stringList = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/** `returns` only when there is one (the Tool schema has it optional, not null). */
export const optionalReturns = (returns: JsonSchemaObject | undefined) => (returns ? { returns } : {});

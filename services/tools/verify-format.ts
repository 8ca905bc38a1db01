import { createHash } from 'node:crypto';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { JsonSchemaObject, Tool } from './tool.js';
import { isRecord } from '../../src/plain-object.js';

/**
 * Format verification (APIGen's first stage, which the seed documents and never calls): every
 * call names a tool that exists and its arguments validate against that tool's JSON Schema
 * (required, types, enums, formats). `validateResult` checks a result against `returns` for
 * simulated execution. Each schema is compiled once (cached per Tool object and by its text), so
 * verifying thousands of examples against one tool set compiles each tool once.
 */

export interface FormatVerdict {
  passed: boolean;
  reason?: string;
}

type Validator = { ok: true; validate: ValidateFunction } | { ok: false; reason: string };

// One Ajv for the process, made on first use (a pure checker: no I/O, no state but its caches).
// strict: false because definitions carry OpenAPI/MCP keywords (example, x-*) Ajv does not know;
// useDefaults: false so validation never changes the arguments it checks.
let shared: Ajv.default | undefined;
function ajv(): Ajv.default {
  if (!shared) {
    shared = new Ajv.default({ allErrors: false, strict: false, useDefaults: false, coerceTypes: false, logger: false });
    addFormats.default(shared);
  }
  return shared;
}

const COMBINERS = ['allOf', 'anyOf', 'oneOf', 'patternProperties', 'additionalProperties', 'unevaluatedProperties'];

/**
 * The schema as the checker runs it. `$schema`/`$id` are dropped (a 2020-12 `$schema` is only a
 * label here, and two tools may share an `$id`). A plain object schema with `properties` gets
 * `additionalProperties: false`: an argument the tool does not declare is a hallucinated
 * parameter, the commonest function-calling mistake; a schema that says anything about extra
 * properties (or combines subschemas) is left as it is.
 */
function argumentsSchema(parameters: JsonSchemaObject): JsonSchemaObject {
  const { $schema: _s, $id: _i, ...rest } = parameters;
  const closed = isRecord(rest.properties) && COMBINERS.every((k) => !(k in rest));
  return closed ? { ...rest, additionalProperties: false } : rest;
}

function resultSchema(returns: JsonSchemaObject): JsonSchemaObject {
  const { $schema: _s, $id: _i, ...rest } = returns;
  return rest;
}

/**
 * Ajv keeps every schema it compiles in a Map keyed by the schema object; tool sets parsed per
 * request would pile up there for the life of the process. The compiled function is all we keep
 * (in the WeakMap, which lets it go with its Tool), so the schema leaves Ajv's cache at once.
 */
function compile(schema: JsonSchemaObject): Validator {
  const checker = ajv();
  try {
    return { ok: true, validate: checker.compile(schema) };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  } finally {
    checker.removeSchema(schema);
  }
}

const argumentValidators = new WeakMap<Tool, Validator>();
const resultValidators = new WeakMap<Tool, Validator>();

/**
 * Tasks read their tools afresh from each payload, so the per-object cache alone never hits across
 * examples; compiled validators are also kept by the schema's text (a sha-256 of it), most recently
 * used first, at most BY_TEXT_MAX of them: one tool set's schemas compile once per process.
 */
const BY_TEXT_MAX = 2_000;
const byText = new Map<string, Validator>();

function cached(cache: WeakMap<Tool, Validator>, tool: Tool, schema: () => JsonSchemaObject): Validator {
  let v = cache.get(tool);
  if (v) return v;
  const s = schema();
  const key = createHash('sha256').update(JSON.stringify(s)).digest('base64');
  v = byText.get(key);
  if (v) byText.delete(key);
  else v = compile(s);
  byText.set(key, v);
  if (byText.size > BY_TEXT_MAX) byText.delete(byText.keys().next().value!);
  cache.set(tool, v);
  return v;
}

/** `/a/0/b~1c` → `a[0]["b/c"]`-style path below `root`. */
export function pathOf(root: string, pointer: string): string {
  if (pointer === '') return root;
  return pointer
    .split('/')
    .slice(1)
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((at, key) => (/^\d+$/.test(key) ? `${at}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`), root);
}

/** One Ajv error in words, with the path it failed at. */
function describe(root: string, e: ErrorObject): string {
  const at = pathOf(root, e.instancePath);
  const p = e.params;
  switch (e.keyword) {
    case 'required':
      return `${pathOf(root, `${e.instancePath}/${String(p.missingProperty)}`)}: required but missing`;
    case 'additionalProperties':
      return `${pathOf(root, `${e.instancePath}/${String(p.additionalProperty)}`)}: not a parameter of the tool`;
    case 'enum':
      return `${at}: must be one of ${JSON.stringify(p.allowedValues)}`;
    case 'format':
      return `${at}: must be a valid ${String(p.format)}`;
    default:
      return `${at}: ${e.message ?? e.keyword}`;
  }
}

function check(validator: Validator, value: unknown, root: string, schemaName: string): string | undefined {
  if (!validator.ok) return `${schemaName} cannot be compiled: ${validator.reason}`;
  if (validator.validate(value)) return undefined;
  const first = validator.validate.errors?.[0];
  return first ? describe(root, first) : `${root}: invalid`;
}

/** Every call names a known tool and passes its parameters schema; the first failure is the reason. */
export function verifyFormat(tools: ReadonlyMap<string, Tool>, calls: ReadonlyArray<{ tool: string; args: unknown }>): FormatVerdict {
  if (calls.length === 0) return { passed: false, reason: 'no tool calls' };
  for (const [i, call] of calls.entries()) {
    const tool = tools.get(call.tool);
    if (!tool) return { passed: false, reason: `call ${i} (${call.tool}): no tool of that name is offered` };
    if (!isRecord(call.args)) return { passed: false, reason: `call ${i} (${call.tool}): args must be a JSON object` };
    const failure = check(cached(argumentValidators, tool, () => argumentsSchema(tool.parameters)), call.args, 'args', 'its parameters schema');
    if (failure) return { passed: false, reason: `call ${i} (${call.tool}): ${failure}` };
  }
  return { passed: true, reason: `${calls.length} call(s) name known tools and validate against their parameters` };
}

/** A result (simulated or real) against the tool's `returns` schema; a tool without one accepts any result. */
export function validateResult(tool: Tool, result: unknown): FormatVerdict {
  const returns = tool.returns;
  if (!returns) return { passed: true, reason: `${tool.name} declares no returns schema` };
  const failure = check(cached(resultValidators, tool, () => resultSchema(returns)), result, 'result', 'its returns schema');
  return failure ? { passed: false, reason: `${tool.name}: ${failure}` } : { passed: true };
}

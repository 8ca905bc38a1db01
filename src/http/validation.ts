import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { isDiscriminated } from '../discriminated-union.js';
import { DISCRIMINATED, discriminatedKeyword, type Variant } from './discriminated-keyword.js';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isDefined = <T>(v: T | undefined): v is T => v !== undefined;

// Keys whose values are data, not schemas: nothing under them is rewritten.
const DATA_KEYS = new Set(['const', 'enum', 'default', 'examples', 'example', 'x-examples', 'required', 'discriminator']);

/** `{ const: x }` (a TypeBox Literal) or `{ enum: [x] }` (the same in OpenAPI 3.0), with nothing else that constrains. */
const literalOf = (s: unknown): { value: unknown; type?: string } | undefined => {
  if (!isRecord(s) || !Object.keys(s).every((k) => ['const', 'enum', 'type', 'description', 'title'].includes(k))) return undefined;
  const type = typeof s.type === 'string' ? s.type : undefined;
  if ('const' in s) return { value: s.const, type };
  return Array.isArray(s.enum) && s.enum.length === 1 ? { value: s.enum[0], type } : undefined;
};

/** `{ required: [name] }` alone: a variant's `oneOf` of these says "exactly one of these fields" (its source). */
const requiredOnly = (s: unknown): string | undefined =>
  isRecord(s) && Array.isArray(s.required) && s.required.length === 1 && Object.keys(s).every((k) => k === 'required' || k === 'title') ? String(s.required[0]) : undefined;

/**
 * The schema as the validator runs it (the contract keeps its own shape):
 * - a union of literals becomes one `enum`, so an error names every allowed value, not the first;
 * - a discriminated union becomes one keyword that validates against the variant the tag picks.
 */
export function prepareSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(prepareSchema);
  if (!isRecord(schema)) return schema;
  const literals = Array.isArray(schema.anyOf) && schema.anyOf.length > 0 ? schema.anyOf.map(literalOf) : [];
  if (literals.length > 0 && literals.every(isDefined)) {
    const { anyOf: _, ...rest } = schema;
    const types = [...new Set(literals.map((l) => l.type))];
    // `type` stays so query strings are still coerced before the enum is checked.
    const type = types.includes(undefined) ? {} : { type: types.length === 1 ? types[0] : types };
    return { ...prepareChildren(rest), enum: literals.map((l) => l.value), ...type };
  }
  if (isDiscriminated(schema)) {
    const { anyOf, discriminator, ...rest } = schema;
    const variants: Variant[] = anyOf.map((raw) => {
      const { oneOf, ...variant } = raw;
      const required = Array.isArray(oneOf) ? oneOf.map(requiredOnly) : [];
      const sources = required.length > 0 && required.every(isDefined) ? required : undefined;
      const prepared = prepareSchema(sources ? variant : raw);
      const properties = isRecord(prepared) && isRecord(prepared.properties) ? prepared.properties : {};
      const tag = literalOf(properties[discriminator.propertyName])?.value;
      const tagRequired = isRecord(prepared) && Array.isArray(prepared.required) && prepared.required.includes(discriminator.propertyName);
      return { tag, isDefault: !tagRequired, fields: Object.keys(properties), sources, schema: isRecord(prepared) ? prepared : {} };
    });
    return { ...prepareChildren(rest), [DISCRIMINATED]: { propertyName: discriminator.propertyName, variants } };
  }
  return prepareChildren(schema);
}

function prepareChildren(schema: Json): Json {
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, DATA_KEYS.has(k) ? v : prepareSchema(v)]));
}

/**
 * Bodies are validated strictly: a string where a number belongs, or a field we do not know, is the
 * caller's mistake and gets a 400 naming it (Fastify's defaults would coerce or silently drop it).
 * Query strings and headers are text on the wire, so those are coerced.
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = new Ajv.default({ allErrors: true, coerceTypes: false, removeAdditional: false, useDefaults: true, strict: false });
  const coercing = new Ajv.default({ allErrors: true, coerceTypes: 'array', removeAdditional: false, useDefaults: true, strict: false });
  for (const ajv of [strict, coercing]) {
    addFormats.default(ajv);
    ajv.addKeyword(discriminatedKeyword(ajv));
  }
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(prepareSchema(schema) as object);
}

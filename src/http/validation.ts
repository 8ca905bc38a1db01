import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Bodies are validated strictly: a string where a number belongs, or a field we do not know, is the
 * caller's mistake and gets a 400 naming it (Fastify's defaults would coerce or silently drop it).
 * Query strings and headers are text on the wire, so those are coerced.
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = new Ajv.default({ allErrors: true, coerceTypes: false, removeAdditional: false, useDefaults: true, strict: false });
  const coercing = new Ajv.default({ allErrors: true, coerceTypes: 'array', removeAdditional: false, useDefaults: true, strict: false });
  addFormats.default(strict);
  addFormats.default(coercing);
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object);
}

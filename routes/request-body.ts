import type { TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { RequestExample } from '../services/jobs/job-module.js';
import { invalid } from '../src/errors.js';

const JSON_TYPE = 'application/json';

/** Examples by media type, then by name. */
export type BodyExamples = Record<string, Record<string, RequestExample>>;

/** A schema with its named examples, which @fastify/swagger lists under the media type (validation ignores them). */
const withExamples = <T extends TSchema>(schema: T, examples: Record<string, RequestExample> | undefined): T =>
  examples ? { ...schema, 'x-examples': examples } : schema;

/** The body part of a JSON-only route's schema: the schema, with its examples. */
export const jsonBody = (schema: TSchema, examples?: BodyExamples) => ({ body: withExamples(schema, examples?.[JSON_TYPE]), preValidation: undefined });

/**
 * The body part of a route's schema when the body comes in several media types: one schema per
 * type (Fastify checks a body against its type's; the contract lists each with its own examples),
 * and a hook that refuses a missing body, which no type's schema then sees.
 */
export function mediaBody(media: Record<string, TSchema>, examples?: BodyExamples) {
  const types = Object.keys(media);
  return {
    body: { content: Object.fromEntries(types.map((type) => [type, { schema: withExamples(media[type], examples?.[type]) }])) },
    preValidation: async (request: FastifyRequest) => {
      if (request.body === undefined || request.body === null) throw invalid('body', `is required (${types.join(' or ')})`);
    },
  };
}

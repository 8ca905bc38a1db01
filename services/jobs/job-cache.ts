import { AppError } from '../../src/errors.js';

/** A job spec or pipeline stage that may name the cache both ways. */
interface CacheHolder {
  cache?: unknown;
  llm?: unknown;
}

/**
 * A job's top-level `cache` moved into its `llm` (as `llm.cache`), where the planners and every
 * task payload carry it: afterwards the spec has one place that says it. Giving both, alike, is
 * allowed; giving both, different, is a 400 naming `cache` (`<stage>.cache` for a pipeline stage).
 */
export function foldCache<T extends CacheHolder>(spec: T, prefix = ''): T {
  if (spec.cache === undefined) return spec;
  const llm = isPlainObject(spec.llm) ? spec.llm : {};
  if (llm.cache !== undefined && llm.cache !== spec.cache) {
    const field = `${prefix}cache`;
    throw new AppError('validation_failed', `${field}: "${String(spec.cache)}" differs from ${prefix}llm.cache "${String(llm.cache)}"; give one`, [
      { field, message: `differs from ${prefix}llm.cache; give one, or both alike` },
    ]);
  }
  const folded = { ...spec, llm: { ...llm, cache: spec.cache } };
  // Gone, not undefined: the run's request hash (canonical JSON) must not tell the two spellings apart.
  delete folded.cache;
  return folded;
}

/** foldCache for a request body not yet known to be an object (a planner checks the rest). */
export const foldRequestCache = (spec: unknown): unknown => (isPlainObject(spec) ? foldCache(spec) : spec);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

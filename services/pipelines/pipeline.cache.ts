import { foldCache } from '../jobs/job-cache.js';
import type { PipelineSpec } from './pipeline.spec.js';

/**
 * Each stage's `cache` folded into its own `llm.cache` (services/jobs/job-cache.ts), so a stage
 * run plans with one setting; a stage giving both, different, is a 400 naming `<stage>.cache`.
 */
export function foldStageCaches(spec: PipelineSpec): PipelineSpec {
  return {
    ...spec,
    ...(spec.topics && { topics: foldCache(spec.topics, 'topics.') }),
    ...(spec.generate && { generate: foldCache(spec.generate, 'generate.') }),
    ...(spec.tools && { tools: foldCache(spec.tools, 'tools.') }),
    ...(spec.enrich && { enrich: foldCache(spec.enrich, 'enrich.') }),
    ...(spec.curate && { curate: foldCache(spec.curate, 'curate.') }),
    ...(spec.select && { select: foldCache(spec.select, 'select.') }),
    ...(spec.compare && { compare: foldCache(spec.compare, 'compare.') }),
  };
}

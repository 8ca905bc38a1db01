import { AppError, type ErrorDetail } from '../../src/errors.js';
import type { ProviderRegistry } from '../../src/llm/providers.js';
import type { GenerateSpec } from './generate.spec.js';
import { samplePercent } from './from-topics.js';
import { DEFAULT_CHUNK_OPTIONS } from './markdown-loader.js';

const SOURCES = ['documents', 'lancedb', 'dataset_id', 'seed_records', 'topics_id', 'topics'] as const;
const TOPIC_ONLY = ['num_samples', 'conversation', 'instructions', 'dataset_system_prompt', 'include_system_message', 'batch_size'] as const;
const MARKDOWN_OPTIONS = ['min_chunk_size', 'max_chunk_size', 'overlap', 'header_levels'] as const;

/**
 * Checks what the schema cannot express; every problem names its field. Which fields a task takes
 * is the schema's (one variant per task, generate.spec.ts); what a *source* allows is checked here.
 */
export function checkGenerateSpec(spec: GenerateSpec, providers: ProviderRegistry): void {
  const details: ErrorDetail[] = [];
  const given = SOURCES.filter((s) => spec[s] !== undefined);
  if (given.length === 0) details.push({ field: spec.task === 'knowledge' ? 'seed_records' : 'documents', message: 'give one source: documents, lancedb, dataset_id or seed_records' });
  if (given.length > 1) details.push({ field: given[1], message: `give one source, not ${given.join(' and ')}` });
  if (!spec.documents) {
    for (const field of MARKDOWN_OPTIONS) if (spec[field] !== undefined) details.push({ field, message: 'only applies to markdown documents' });
  }
  if (spec.lancedb?.max_chunks !== undefined && spec.max_chunks !== undefined) {
    details.push({ field: 'lancedb.max_chunks', message: 'give either max_chunks or lancedb.max_chunks, not both' });
  }

  const task = spec.task ?? 'qa';
  const fromTopics = spec.topics_id !== undefined || spec.topics !== undefined;
  if (fromTopics) {
    // A percentage is bounded here, before a pipeline queues the stage that will apply it.
    if (typeof spec.num_samples === 'string' && spec.num_samples !== 'auto') {
      try {
        samplePercent(spec.num_samples);
      } catch (err) {
        details.push(...(err as AppError).details);
      }
    }
    // Reachable from a pipeline, whose topics stage is the source of a knowledge stage that reads none.
    if (task === 'knowledge') details.push({ field: 'task', message: 'topics feed qa, cot or conversation' });
    for (const field of ['n_pairs', 'target_pairs', 'max_chunks', 'strategy', 'topic'] as const) {
      if (spec[field] !== undefined) details.push({ field, message: 'does not apply to a topic source; size it with num_samples' });
    }
    if (spec.conversation?.reasoning_style !== undefined && spec.conversation.type !== 'cot') details.push({ field: 'conversation.reasoning_style', message: 'only applies to conversation type "cot"' });
  } else {
    for (const field of TOPIC_ONLY) if (spec[field] !== undefined) details.push({ field, message: 'only applies to a topic source (topics_id or topics)' });
  }
  if (task === 'conversation' && !fromTopics && spec.turns === 1) details.push({ field: 'turns', message: 'a conversation from chunks has at least 2 turns (one turn is a qa pair)' });
  if (spec.strategy?.type === 'random') {
    for (const field of ['target_pairs', 'max_chunks'] as const) {
      if (spec[field] !== undefined) details.push({ field, message: 'does not combine with a random strategy; size it with num_samples and chunks_per_sample' });
    }
  }
  if (spec.n_pairs !== undefined && spec.target_pairs !== undefined) {
    details.push({ field: 'target_pairs', message: 'give either n_pairs (per chunk) or target_pairs (in total), not both' });
  }
  const min = spec.min_chunk_size ?? DEFAULT_CHUNK_OPTIONS.minChunkSize;
  const max = spec.max_chunk_size ?? DEFAULT_CHUNK_OPTIONS.maxChunkSize;
  const overlap = spec.overlap ?? DEFAULT_CHUNK_OPTIONS.overlap;
  if (max <= min) details.push({ field: 'max_chunk_size', message: `must be greater than min_chunk_size (${min})` });
  if (overlap >= min) details.push({ field: 'overlap', message: `must be smaller than min_chunk_size (${min})` });
  spec.documents?.forEach((d, i) => {
    if (d.text.trim() === '') details.push({ field: `documents.${i}.text`, message: 'is empty' });
  });
  if (spec.llm?.provider && !providers.get(spec.llm.provider)) {
    details.push({ field: 'llm.provider', message: `unknown provider "${spec.llm.provider}"; configured: ${providers.list().map((p) => p.name).join(', ')}` });
  }
  if (details.length > 0) throw new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
}

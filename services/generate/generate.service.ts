import type { NewTask } from '../../db/runs.repository.js';
import { AppError, type ErrorDetail } from '../../src/errors.js';
import { hashOf } from '../../src/ids.js';
import type { ProviderRegistry } from '../../src/llm/providers.js';
import { startRun, type RunsDeps } from '../runs/runs.service.js';
import type { GenerateSpec } from './generate.spec.js';
import { DEFAULT_CHUNK_OPTIONS, splitMarkdown, type Chunk } from './markdown-loader.js';
import { planPairs } from './pair-plan.js';
import type { GenerateTaskPayload } from './task-payload.js';

export interface GenerateDeps extends RunsDeps {
  providers: ProviderRegistry;
}

/** Checks what the schema cannot express; every problem names its field. */
export function checkGenerateSpec(spec: GenerateSpec, providers: ProviderRegistry): void {
  const details: ErrorDetail[] = [];
  const task = spec.task ?? 'qa';
  if (task !== 'conversation') {
    for (const field of ['turns', 'answers'] as const) {
      if (spec[field] !== undefined) details.push({ field, message: `only applies to task "conversation" (task is "${task}")` });
    }
  } else {
    for (const field of ['n_pairs', 'target_pairs'] as const) {
      if (spec[field] !== undefined) details.push({ field, message: 'task "conversation" writes one conversation per chunk; limit chunks with max_chunks' });
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
  spec.documents.forEach((d, i) => {
    if (d.text.trim() === '') details.push({ field: `documents.${i}.text`, message: 'is empty' });
  });
  if (spec.llm?.provider && !providers.get(spec.llm.provider)) {
    details.push({ field: 'llm.provider', message: `unknown provider "${spec.llm.provider}"; configured: ${providers.list().map((p) => p.name).join(', ')}` });
  }
  if (details.length > 0) throw new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
}

/** Plans a QA run: one task per selected chunk, keyed by document position and chunk id. */
export function planGenerate(spec: GenerateSpec): { tasks: NewTask[]; report: Record<string, unknown> } {
  const options = { minChunkSize: spec.min_chunk_size, maxChunkSize: spec.max_chunk_size, overlap: spec.overlap };
  const chunks: Array<{ doc: number; chunk: Chunk }> = [];
  spec.documents.forEach((document, doc) => {
    for (const chunk of splitMarkdown(document, options)) chunks.push({ doc, chunk });
  });
  // A conversation is one per chunk; the pair plan then only selects chunks.
  const plan = planPairs(chunks.length, { nPairs: spec.task === 'conversation' ? 1 : spec.n_pairs, targetPairs: spec.target_pairs, maxChunks: spec.max_chunks });
  const tasks = plan.map(({ index, pairs }) => {
    const { doc, chunk } = chunks[index];
    const payload: Omit<GenerateTaskPayload, 'dataset_id'> = {
      chunk: { chunk_id: chunk.chunk_id, content: chunk.content, source: chunk.source, section_path: chunk.section_path },
      pairs,
      llm: spec.llm ?? {},
      system_prompt: spec.system_prompt,
      language: spec.language,
      seed_examples: spec.seed_examples,
      turns: spec.turns,
      answers: spec.answers,
    };
    return {
      key: `d${doc}/${chunk.chunk_id}`,
      kind: `generate.${spec.task ?? 'qa'}`,
      maxAttempts: spec.max_attempts,
      payload,
    };
  });
  const requested = plan.reduce((sum, p) => sum + p.pairs, 0);
  return {
    tasks,
    report: {
      documents: spec.documents.length,
      chunks: chunks.length,
      chunks_used: plan.length,
      ...(spec.task === 'conversation' ? { conversations_requested: plan.length } : { [spec.task === 'cot' ? 'examples_requested' : 'pairs_requested']: requested }),
      ...(spec.target_pairs !== undefined && requested < spec.target_pairs
        ? { note: `target_pairs ${spec.target_pairs} capped at ${requested} (50 pairs per chunk at most)` }
        : {}),
    },
  };
}

export async function startGenerate(deps: GenerateDeps, input: { owner: string; spec: GenerateSpec; idempotencyKey?: string }) {
  checkGenerateSpec(input.spec, deps.providers);
  let planned;
  try {
    planned = planGenerate(input.spec);
  } catch (err) {
    if (err instanceof RangeError) throw new AppError('validation_failed', err.message, [{ field: optionOf(err.message), message: err.message }]);
    throw err;
  }
  if (planned.tasks.length === 0) {
    throw new AppError('validation_failed', 'the documents produced no chunks to generate from', [{ field: 'documents', message: 'no non-empty sections' }]);
  }
  // The chunks live in the tasks; the run keeps what the request was, not a second copy of the text.
  const spec = { task: input.spec.task ?? ('qa' as const), ...input.spec, documents: input.spec.documents.map((d) => ({ name: d.name, chars: d.text.length, sha256: hashOf(d.text) })) };
  return startRun(deps, {
    owner: input.owner,
    kind: 'generate',
    spec,
    requestHash: hashOf(input.spec),
    idempotencyKey: input.idempotencyKey,
    tasks: planned.tasks,
    dataset: { name: input.spec.dataset_name ?? `${spec.task} from ${input.spec.documents[0].name}`, meta: { kind: spec.task, source_run_kind: 'generate' } },
    report: planned.report,
  });
}

const optionOf = (message: string) => ['minChunkSize', 'maxChunkSize', 'overlap'].find((o) => message.includes(o))?.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) ?? 'documents';

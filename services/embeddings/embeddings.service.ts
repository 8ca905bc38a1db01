import type { NewTask } from '../../db/runs.repository.js';
import { recordIdsPage } from '../../db/embeddings.repository.js';
import { AppError } from '../../src/errors.js';
import type { JobDeps } from '../jobs/job-deps.js';
import { EMBED_TASK_KIND, EMBED_TASK_RECORDS, embedTask } from './embed.task.js';
import { LEXICAL_DIMS, modelKey, type EmbeddingMethod } from './embedding-method.js';
import type { EmbeddingOption } from './embedding.spec.js';

export type { EmbeddingMethod } from './embedding-method.js';
export { EMBED_TASK_KIND } from './embed.task.js';
export { loadVectors, type VectorTable } from './embeddings.load.js';

const invalid = (field: string, message: string) => new AppError('validation_failed', `${field}: ${message}`, [{ field, message }]);

const lexical = (reason: string): EmbeddingMethod => ({ kind: 'lexical', method: 'hashed-char-ngrams-tfidf', dims: LEXICAL_DIMS, reason });

/**
 * Plan time: the method a job embeds by. Absent = the service default (EMBEDDING_PROVIDER /
 * EMBEDDING_MODEL, or a provider's `embedding_model`), else the lexical fallback with the reason in
 * the method (reports show it). A provider that cannot embed, or no model to call, is the caller's
 * mistake: a 400 naming `embedding.provider` or `embedding.model`.
 */
export function chooseEmbedding(deps: Pick<JobDeps, 'providers'>, option: EmbeddingOption | undefined): EmbeddingMethod {
  const registry = deps.providers;
  if (option === 'lexical') return lexical('requested (embedding: "lexical")');
  if (option === undefined) {
    if (!registry.embedding) return lexical("no embedding model is configured (EMBEDDING_PROVIDER/EMBEDDING_MODEL, or a provider's embedding_model)");
    return modelMethod(deps, registry.embedding.provider, registry.embedding.model, undefined);
  }
  const name = option.provider ?? registry.embedding?.provider ?? registry.defaultName;
  const provider = registry.get(name);
  if (!provider) throw invalid('embedding.provider', `unknown provider "${name}" (known: ${registry.list().map((p) => p.name).join(', ')})`);
  if (provider.kind !== 'openai') throw invalid('embedding.provider', `"${name}" is an ${provider.kind} provider; embeddings need an OpenAI-compatible one (OpenAI, vLLM, Ollama, Gemini)`);
  const model = option.model ?? (registry.embedding?.provider === name ? registry.embedding.model : provider.embeddingModel);
  if (!model) throw invalid('embedding.model', `provider "${name}" has no embedding_model: name the model`);
  return modelMethod(deps, name, model, option.dimensions);
}

function modelMethod(deps: Pick<JobDeps, 'providers'>, name: string, model: string, dimensions: number | undefined): EmbeddingMethod {
  const provider = deps.providers.get(name)!;
  return { kind: 'model', provider: name, model, ...(dimensions !== undefined ? { dimensions } : {}), modelKey: modelKey(provider, model, dimensions) };
}

/** Record ids read per query while planning (ids only, never record data); whole tasks per page. */
const ID_PAGE = EMBED_TASK_RECORDS * 40;

/**
 * Plan time: `embed.batch` tasks covering every record of the datasets, EMBED_TASK_RECORDS each
 * (none for lexical). Nothing is skipped here: each task looks up which of its texts are stored
 * already and embeds only the rest, so planning costs one pass over ids whatever is cached. Keys
 * `embed/<datasetId>/<n>`; each task spawns `then` (`<then.kind>/<its key>`) once its vectors are stored.
 */
export async function planEmbedTasks(
  deps: Pick<JobDeps, 'database'>,
  owner: string,
  datasetIds: string[],
  method: EmbeddingMethod,
  then?: { kind: string; payload: Record<string, unknown> },
): Promise<NewTask[]> {
  if (method.kind !== 'model') return [];
  const tasks: NewTask[] = [];
  for (const datasetId of [...new Set(datasetIds)]) {
    let after = 0;
    let n = 0;
    for (;;) {
      const ids = await recordIdsPage(deps.database.db, datasetId, after, ID_PAGE);
      for (let i = 0; i < ids.length; i += EMBED_TASK_RECORDS) {
        const slice = ids.slice(i, i + EMBED_TASK_RECORDS);
        const through = slice[slice.length - 1].id;
        const chars = slice.reduce((sum, r) => sum + r.chars, 0);
        tasks.push(embedTask.plan(`embed/${datasetId}/${n++}`, { dataset_id: datasetId, owner, after_id: after, through_id: through, records: slice.length, chars, method, ...(then ? { then } : {}) }));
        after = through;
      }
      if (ids.length < ID_PAGE) break;
    }
  }
  return tasks;
}

export { EMBED_TASK_RECORDS };

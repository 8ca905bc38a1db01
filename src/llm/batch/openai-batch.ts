import OpenAI, { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { OPENAI_BATCH_LIMITS, type BatchLineResult, type BatchStatus, type ProviderBatches } from './batch-types.js';
import { abortable } from '../adapters.js';
import { LlmError } from '../llm.errors.js';
import { openaiAnswer, openaiBody } from '../openai.adapter.js';
import type { Provider } from '../providers.js';
import { mapSdkError, parseJson, statusError } from '../sdk-errors.js';
import { CLOCK_SLACK_MS, checkBatch, checkBytes, isRecord, lineFailure } from './batch-lines.js';
import { readId, wireId } from './custom-id.js';

const ENDPOINT = '/v1/chat/completions';
/** The metadata key the local batch id is recorded under, for `find`. */
const LOCAL_ID_KEY = 'quarry_batch';
const ENDED: ReadonlySet<Batch['status']> = new Set(['completed', 'failed', 'expired', 'cancelled']);

/**
 * OpenAI's Batch API: the lines as a JSONL file (Files API, purpose `batch`), one batch of it on
 * /v1/chat/completions; answers come back as an output file (2xx lines) and an error file (the
 * rest, and lines the batch never ran). The SDK's own fetch: uploads are multipart.
 */
export function openaiBatches(provider: Provider): ProviderBatches {
  const client = new OpenAI({ baseURL: provider.baseUrl, apiKey: provider.apiKey, maxRetries: provider.maxRetries, timeout: provider.timeoutMs });
  const call = async <T>(signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> => {
    try {
      return await (signal ? abortable(run(), signal) : run());
    } catch (err) {
      throw mapSdkError(provider, err, OpenAI);
    }
  };
  const fileText = (id: string, signal?: AbortSignal) => call(signal, async () => (await client.files.content(id, { signal })).text());

  return {
    async submit(lines, localId, signal) {
      checkBatch(provider, lines, OPENAI_BATCH_LIMITS);
      const text = lines.map((l) => `${JSON.stringify({ custom_id: wireId(localId, l.custom_id, l.request), method: 'POST', url: ENDPOINT, body: openaiBody(l.model, l.request) })}\n`).join('');
      const bytes = Buffer.from(text);
      checkBytes(provider, bytes.length, OPENAI_BATCH_LIMITS);
      const file = await call(signal, async () => client.files.create({ file: await toFile(bytes, `quarry-${localId}.jsonl`, { type: 'application/jsonl' }), purpose: 'batch' }, { signal }));
      // Not retried: a retry after a lost answer could make a second batch. The caller asks `find`.
      const batch = await call(signal, () =>
        client.batches.create({ input_file_id: file.id, endpoint: ENDPOINT, completion_window: '24h', metadata: { [LOCAL_ID_KEY]: localId } }, { signal, maxRetries: 0 }),
      );
      return { providerBatchId: batch.id };
    },

    /** The batch whose metadata names `localId`, among those created since `since` (the list is newest first). */
    find: (localId, since, signal) =>
      call(signal, async () => {
        const after = since.getTime() - CLOCK_SLACK_MS;
        for await (const batch of client.batches.list({ limit: 100 }, { signal })) {
          if (batch.created_at * 1000 < after) return undefined;
          if (batch.metadata?.[LOCAL_ID_KEY] === localId) return batch.id;
        }
        return undefined;
      }),

    status: (id, signal) => call(signal, async () => statusOf(await client.batches.retrieve(id, { signal }))),

    async results(id, signal) {
      const batch = await call(signal, () => client.batches.retrieve(id, { signal }));
      if (!ENDED.has(batch.status)) throw new LlmError('api', `batch ${id} has not ended (status ${batch.status})`, { retryable: true });
      if (batch.status === 'failed') {
        // Nothing ran: every line of the input file fails with the batch's reasons.
        const why = (batch.errors?.data ?? []).map((e) => `${e.line ? `line ${e.line}: ` : ''}${e.message ?? e.code}`).join('; ') || 'no reason given';
        return readLines(await fileText(batch.input_file_id, signal)).flatMap((line) => {
          const id = typeof line.custom_id === 'string' ? readId(line.custom_id) : undefined;
          return id ? [{ custom_id: id.customId, error: { category: 'api' as const, message: `the provider failed the batch: ${why}` } }] : [];
        });
      }
      const files = [batch.output_file_id, batch.error_file_id].filter((f): f is string => typeof f === 'string' && f.length > 0);
      const texts = await Promise.all(files.map((f) => fileText(f, signal)));
      return texts.flatMap((text) => readLines(text).flatMap((line) => resultOf(provider, line)));
    },

    async cancel(id, signal) {
      const batch = await call(signal, () => client.batches.retrieve(id, { signal }));
      if (ENDED.has(batch.status) || batch.status === 'cancelling') return;
      await call(signal, () =>
        client.batches.cancel(id, { signal }).catch((err: unknown) => {
          // It ended between the two calls: nothing left to cancel.
          if (!(err instanceof OpenAI.APIError && err.status === 409)) throw err;
        }),
      );
    },
  };
}

function statusOf(batch: Batch): BatchStatus {
  const counts = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  const state = batch.status === 'completed' ? 'ended' : batch.status === 'cancelled' ? 'canceled' : batch.status === 'failed' || batch.status === 'expired' ? batch.status : 'in_progress';
  // Lines neither answered nor failed when a batch is cancelled or expires never ran.
  const unrun = counts.total - counts.completed - counts.failed;
  const ended = batch.completed_at ?? batch.cancelled_at ?? batch.failed_at ?? batch.expired_at;
  return {
    state,
    counts: { total: counts.total, succeeded: counts.completed, errored: counts.failed, canceled: state === 'canceled' ? unrun : 0, expired: state === 'expired' ? unrun : 0 },
    ...(state !== 'in_progress' && ended ? { ended_at: new Date(ended * 1000).toISOString() } : {}),
  };
}

const readLines = (text: string): Array<Record<string, any>> =>
  text.split('\n').flatMap((line) => {
    const parsed = line.trim() ? parseJson(line) : undefined;
    return isRecord(parsed) ? [parsed] : [];
  });

const isChatCompletion = (v: unknown): v is ChatCompletion => isRecord(v) && Array.isArray(v.choices);

/** One line of an output or error file: `{ custom_id, response: { status_code, body }, error }`. */
function resultOf(provider: Provider, line: Record<string, any>): BatchLineResult[] {
  const id = typeof line.custom_id === 'string' ? readId(line.custom_id) : undefined;
  if (!id) return [];
  const { response, error } = line;
  try {
    if (isRecord(response) && typeof response.status_code === 'number') {
      if (response.status_code < 300 && isChatCompletion(response.body)) return [{ custom_id: id.customId, response: { ...openaiAnswer(provider, response.body, id.answerTool !== undefined), via: 'batch' } }];
      const message = isRecord(response.body) && isRecord(response.body.error) ? String(response.body.error.message) : JSON.stringify(response.body);
      throw statusError(provider, response.status_code, message);
    }
    const code = isRecord(error) ? String(error.code) : 'unknown';
    const message = isRecord(error) ? String(error.message) : 'no answer';
    if (code === 'batch_cancelled') throw new LlmError('canceled', message);
    if (code === 'batch_expired') throw new LlmError('timeout', message);
    throw new LlmError('api', `${code}: ${message}`);
  } catch (err) {
    return [lineFailure(id.customId, err)];
  }
}

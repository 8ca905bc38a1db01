import Anthropic from '@anthropic-ai/sdk';
import { ANTHROPIC_BATCH_LIMITS, type BatchLineResult, type BatchStatus, type ProviderBatches } from './batch-types.js';
import { abortable } from '../adapters.js';
import { anthropicAnswer, anthropicParams } from '../anthropic.adapter.js';
import { LlmError } from '../llm.errors.js';
import type { Provider } from '../providers.js';
import { mapSdkError, statusError } from '../sdk-errors.js';
import { CLOCK_SLACK_MS, checkBatch, checkBytes, lineFailure } from './batch-lines.js';
import { batchTag, readId, wireId } from './custom-id.js';

type MessageBatch = Anthropic.Messages.MessageBatch;
type IndividualResponse = Anthropic.Messages.MessageBatchIndividualResponse;

/** Anthropic's error types as the HTTP statuses they stand for, so a failed line maps like a failed call. */
const ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

/** How long a caller waits before asking `find` again when a candidate batch cannot be read yet. */
const FIND_AGAIN_MS = 60_000;

/**
 * Anthropic's Message Batches: every request with its params, answers as JSONL from `results_url`
 * once the batch ended. A batch has no metadata: the local id's tag rides in every custom_id
 * (custom-id.ts). The SDK's own fetch: results are a streamed body.
 */
export function anthropicBatches(provider: Provider): ProviderBatches {
  const client = new Anthropic({ baseURL: provider.baseUrl, apiKey: provider.apiKey, maxRetries: provider.maxRetries, timeout: provider.timeoutMs });
  const call = async <T>(signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> => {
    try {
      return await (signal ? abortable(run(), signal) : run());
    } catch (err) {
      throw mapSdkError(provider, err, Anthropic);
    }
  };

  /** The first result's custom_id tag: every line of a batch carries the same one. */
  const tagOf = (id: string, signal?: AbortSignal) =>
    call(signal, async () => {
      for await (const item of await client.messages.batches.results(id, {}, { signal })) return readId(item.custom_id)?.tag;
      return undefined;
    });

  return {
    async submit(lines, localId, signal) {
      checkBatch(provider, lines, ANTHROPIC_BATCH_LIMITS);
      const requests = lines.map((l) => ({ custom_id: wireId(localId, l.custom_id, l.request), params: anthropicParams(l.model, l.request) }));
      checkBytes(provider, Buffer.byteLength(JSON.stringify({ requests })), ANTHROPIC_BATCH_LIMITS);
      // Not retried: a retry after a lost answer could make a second batch. The caller asks `find`.
      const batch = await call(signal, () => client.messages.batches.create({ requests }, { signal, maxRetries: 0 }));
      return { providerBatchId: batch.id };
    },

    /**
     * Among the batches created since `since` (newest first), the one whose custom_ids carry the
     * local id's tag. Custom_ids can be read only once a batch has ended: while a candidate is still
     * in progress the answer is unknown, and this throws a retryable error rather than say "none"
     * (which would have the caller submit the calls a second time).
     */
    find: (localId, since, signal) =>
      call(signal, async () => {
        const after = since.getTime() - CLOCK_SLACK_MS;
        const tag = batchTag(localId);
        const unreadable: string[] = [];
        for await (const batch of client.messages.batches.list({ limit: 100 }, { signal })) {
          if (Date.parse(batch.created_at) < after) break;
          if (batch.processing_status !== 'ended') unreadable.push(batch.id);
          else if ((await tagOf(batch.id, signal)) === tag) return batch.id;
        }
        if (unreadable.length === 0) return undefined;
        throw new LlmError('api', `cannot tell yet whether batch ${unreadable.join(', ')} holds local batch ${localId}: its results are readable once it ends`, {
          retryable: true,
          retryAfterMs: FIND_AGAIN_MS,
        });
      }),

    status: (id, signal) => call(signal, async () => statusOf(await client.messages.batches.retrieve(id, {}, { signal }))),

    async results(id, signal) {
      const batch = await call(signal, () => client.messages.batches.retrieve(id, {}, { signal }));
      if (batch.processing_status !== 'ended') throw new LlmError('api', `batch ${id} has not ended (processing_status ${batch.processing_status})`, { retryable: true });
      return call(signal, async () => {
        const out: BatchLineResult[] = [];
        for await (const item of await client.messages.batches.results(id, {}, { signal })) out.push(...resultOf(provider, item));
        return out;
      });
    },

    async cancel(id, signal) {
      const batch = await call(signal, () => client.messages.batches.retrieve(id, {}, { signal }));
      if (batch.processing_status !== 'in_progress') return;
      await call(signal, () => client.messages.batches.cancel(id, {}, { signal }));
    },
  };
}

/** Ended after a cancel: canceled; ended with expired requests: expired; `canceling` is still in progress. */
function statusOf(batch: MessageBatch): BatchStatus {
  const c = batch.request_counts;
  const ended = batch.processing_status === 'ended';
  const state = !ended ? 'in_progress' : batch.cancel_initiated_at ? 'canceled' : c.expired > 0 ? 'expired' : 'ended';
  return {
    state,
    counts: { total: c.processing + c.succeeded + c.errored + c.canceled + c.expired, succeeded: c.succeeded, errored: c.errored, canceled: c.canceled, expired: c.expired },
    ...(ended && batch.ended_at ? { ended_at: batch.ended_at } : {}),
  };
}

function resultOf(provider: Provider, item: IndividualResponse): BatchLineResult[] {
  const id = readId(item.custom_id);
  if (!id) return [];
  const { result } = item;
  try {
    switch (result.type) {
      case 'succeeded':
        return [{ custom_id: id.customId, response: { ...anthropicAnswer(result.message, id.answerTool), via: 'batch' } }];
      case 'errored': {
        const { type, message } = result.error.error;
        throw statusError(provider, ERROR_STATUS[type] ?? 500, `${type}: ${message}`);
      }
      case 'canceled':
        throw new LlmError('canceled', 'the batch was canceled before this request ran');
      default:
        throw new LlmError('timeout', 'the batch expired before this request ran');
    }
  } catch (err) {
    return [lineFailure(id.customId, err)];
  }
}

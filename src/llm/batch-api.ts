import { lineProblem } from './batch/batch-lines.js';
import type { BatchApi, BatchLine, ProviderBatches } from './batch/batch-types.js';
import { LlmError } from './llm.errors.js';
import type { Provider } from './providers.js';

// The interface lives in batch/batch-types.ts (so the provider modules import it without a cycle).

export {
  ANTHROPIC_BATCH_LIMITS,
  OPENAI_BATCH_LIMITS,
  batchLimits,
  type BatchApi,
  type BatchLimits,
  type BatchLine,
  type BatchLineResult,
  type BatchState,
  type BatchStatus,
} from './batch/batch-types.js';

/** custom_ids: 1 to this many characters of [A-Za-z0-9_-] (the rest of Anthropic's 64 carries the local id's tag). */
export { CUSTOM_ID_PATTERN, MAX_CUSTOM_ID_LENGTH } from './batch/custom-id.js';

/**
 * At least the bytes a line takes in the provider's batch payload (its JSONL line, or its entry in
 * `requests`), so a submitter that keeps `sum(lineBytes) <= maxBytes` stays under the limit: the
 * request's JSON plus a bound on what the wire form adds per message, tool and tool call (the wire
 * form itself is built by the SDK adapters, loaded only when a batch is submitted). `submit`
 * measures the real payload and refuses one over the limit.
 */
export function lineBytes(_provider: Provider, line: BatchLine): number {
  const { request } = line;
  const parts = request.messages.length + (request.tools?.length ?? 0) + request.messages.reduce((n, m) => n + (m.role === 'assistant' ? (m.tool_calls?.length ?? 0) : 0), 0);
  return Buffer.byteLength(JSON.stringify({ custom_id: line.custom_id, model: line.model, request })) + 64 * (parts + 2) + 256;
}

/**
 * Why the line cannot be batched (a custom_id outside CUSTOM_ID_PATTERN; for Anthropic a tool named
 * like the response schema, which the online adapter refuses too), or undefined. `submit` refuses a
 * whole batch with such a line, so check each call before it is collected.
 */
export function checkLine(provider: Provider, line: BatchLine): LlmError | undefined {
  const problem = lineProblem(provider, line);
  return problem ? new LlmError('api', `batch line ${line.custom_id}: ${problem}`) : undefined;
}

/**
 * The batch APIs of both provider kinds through their SDKs (src/llm/batch/): one client per
 * provider, its SDK loaded on first use. Submitting is never retried inside (a retried create could
 * make a second batch): after an error the caller asks `find` before it submits again.
 */
export function createBatchApi(): BatchApi {
  const apis = new Map<string, Promise<ProviderBatches>>();
  const of = (provider: Provider) => {
    // Keyed by endpoint too: a provider object rebuilt with another base URL gets its own client.
    const key = `${provider.name}\n${provider.baseUrl}`;
    let api = apis.get(key);
    if (!api) {
      api =
        provider.kind === 'anthropic'
          ? import('./batch/anthropic-batch.js').then((m) => m.anthropicBatches(provider))
          : import('./batch/openai-batch.js').then((m) => m.openaiBatches(provider));
      apis.set(key, api);
    }
    return api;
  };
  return {
    submit: async (provider, lines, localId, signal) => (await of(provider)).submit(lines, localId, signal),
    find: async (provider, localId, since, signal) => (await of(provider)).find(localId, since, signal),
    status: async (provider, id, signal) => (await of(provider)).status(id, signal),
    results: async (provider, id, signal) => (await of(provider)).results(id, signal),
    cancel: async (provider, id, signal) => (await of(provider)).cancel(id, signal),
  };
}

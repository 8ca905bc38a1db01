import type OpenAI from 'openai';
import { modelLabel, type Metrics } from '../metrics.js';
import { abortable } from './adapters.js';
import { createProviderFetch } from './fetch.js';
import { LlmError, toLlmError } from './llm.errors.js';
import type { ProviderSlots } from './middleware.js';
import type { Provider, ProviderRegistry } from './providers.js';
import { mapSdkError } from './sdk-errors.js';
import { addUsage, type Usage } from './usage.js';

/** One `/v1/embeddings` call: the texts in order, one vector each. */
export interface EmbedRequest {
  provider: string;
  model: string;
  texts: string[];
  /** Ask for vectors this long (text-embedding-3-* and other models that support it). */
  dimensions?: number;
  signal: AbortSignal;
  /** The call's request, input tokens and cost (at the provider's `embedding_pricing`) are added here. */
  usage: Usage;
}

export type Embed = (req: EmbedRequest) => Promise<Float32Array[]>;

type Sdk = typeof OpenAI;

export interface EmbedderDeps {
  providers: ProviderRegistry;
  metrics?: Metrics;
  /** The providers' concurrency slots, shared with teacher calls so embeddings never exceed `max_concurrency`. */
  slots: ProviderSlots;
}

/**
 * Embeddings through the OpenAI SDK (OpenAI, vLLM, Ollama's /v1, Gemini's OpenAI endpoint): the
 * same client settings as chat calls (the SDK's retries of 429/5xx with Retry-After, the provider's
 * timeout and connection pool), errors as LlmErrors with their categories, usage counted like any
 * teacher call. The SDK loads on the first call.
 */
export function createEmbedder(deps: EmbedderDeps): Embed {
  const clients = new Map<string, Promise<{ client: OpenAI; sdk: Sdk }>>();
  const clientOf = (provider: Provider) => {
    let client = clients.get(provider.name);
    if (!client) {
      client = import('openai').then(({ default: sdk }) => ({
        sdk,
        client: new sdk({ baseURL: provider.baseUrl, apiKey: provider.apiKey, maxRetries: provider.maxRetries, timeout: provider.timeoutMs, fetch: createProviderFetch(provider.maxConcurrency) }),
      }));
      clients.set(provider.name, client);
    }
    return client;
  };

  return async (req) => {
    const provider = deps.providers.get(req.provider);
    if (!provider) throw new LlmError('api', `unknown provider "${req.provider}"`, { fatal: true });
    if (provider.kind !== 'openai') throw new LlmError('api', `provider "${provider.name}" is an ${provider.kind} provider: it has no embeddings endpoint`, { fatal: true });
    if (req.texts.length === 0) return [];
    const label = { provider: provider.name, model: modelLabel({ defaultModel: provider.embeddingModel ?? provider.defaultModel, models: provider.models }, req.model) };
    const started = performance.now();
    try {
      const { client, sdk } = await clientOf(provider);
      const vectors = await deps.slots(provider)(async () => {
        req.signal.throwIfAborted();
        try {
          const res = await abortable(
            client.embeddings.create({ model: req.model, input: req.texts, encoding_format: 'float', ...(req.dimensions ? { dimensions: req.dimensions } : {}) }, { signal: req.signal }),
            req.signal,
          );
          const tokens = res.usage?.prompt_tokens ?? 0;
          addUsage(req.usage, { input: tokens, output: 0 }, { input_per_mtok: provider.embeddingPricing?.input_per_mtok ?? 0, output_per_mtok: 0 });
          deps.metrics?.llmTokens.inc({ provider: provider.name, direction: 'input' }, tokens);
          return readVectors(provider, res, req.texts.length);
        } catch (err) {
          throw mapSdkError(provider, err, sdk);
        }
      });
      deps.metrics?.llmLatency.observe({ provider: provider.name }, (performance.now() - started) / 1000);
      deps.metrics?.llmRequests.inc({ ...label, outcome: 'ok' });
      return vectors;
    } catch (err) {
      const failure = toLlmError(err, req.signal);
      deps.metrics?.llmRequests.inc({ ...label, outcome: failure.category });
      throw failure;
    }
  };
}

/** The answer's vectors in input order; a short, ragged or non-numeric answer is a retryable provider fault. */
function readVectors(provider: Provider, res: OpenAI.CreateEmbeddingResponse, count: number): Float32Array[] {
  const out = new Array<Float32Array | undefined>(count);
  for (const item of res.data ?? []) {
    if (Number.isInteger(item.index) && item.index >= 0 && item.index < count && Array.isArray(item.embedding)) out[item.index] = Float32Array.from(item.embedding);
  }
  const dims = out[0]?.length ?? 0;
  const bad = out.findIndex((v) => !v || v.length !== dims || v.length === 0 || v.some((x) => !Number.isFinite(x)));
  if (bad >= 0) throw new LlmError('api', `provider "${provider.name}" returned no usable embedding for input ${bad} of ${count}`, { retryable: true });
  return out as Float32Array[];
}

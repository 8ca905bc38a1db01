import { priceOf } from './pricing.js';
import type { Provider } from './providers.js';

/**
 * A base URL as it may be shown: credentials in it (`https://user:secret@host`) and its query string
 * (some gateways take `?api-key=`) are dropped, so nothing secret leaves with it.
 */
export function shownUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString().replace(/\/$/, raw.endsWith('/') ? '/' : '');
  } catch {
    return '(unparseable URL)';
  }
}

/** What may be shown about a teacher (GET /v1/providers, the start-up log): everything but its key. */
export function providerView(p: Provider, defaultName: string) {
  return {
    name: p.name,
    kind: p.kind,
    default: p.name === defaultName,
    base_url: shownUrl(p.baseUrl),
    default_model: p.defaultModel,
    models: p.models ?? [],
    api_key_env: p.apiKeyEnv ?? null,
    limits: {
      max_concurrency: p.maxConcurrency,
      timeout_ms: p.timeoutMs,
      max_retries: p.maxRetries,
      rpm: p.rateLimits?.rpm ?? null,
      tpm: p.rateLimits?.tpm ?? null,
      input_tpm: p.rateLimits?.input_tpm ?? null,
      output_tpm: p.rateLimits?.output_tpm ?? null,
    },
    // What its default model's calls are billed at, and whence (configured, the price table, or unknown).
    pricing: priceOf(p, p.defaultModel),
    embedding_model: p.embeddingModel ?? null,
    embedding_pricing: p.embeddingPricing ?? null,
  };
}

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
    limits: { max_concurrency: p.maxConcurrency, timeout_ms: p.timeoutMs, max_retries: p.maxRetries },
    pricing: p.pricing,
    embedding_model: p.embeddingModel ?? null,
    embedding_pricing: p.embeddingPricing ?? null,
  };
}

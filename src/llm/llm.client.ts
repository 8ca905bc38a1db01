import type { Logger } from 'pino';
import { modelLabel, type Metrics } from '../metrics.js';
import { providerCall } from './adapters.js';
import type { CacheMode, LlmSettings } from './llm-settings.js';
import { LlmError, toLlmError } from './llm.errors.js';
import { createEmbedder, type Embed, type EmbedRequest } from './embeddings.js';
import { callKey, requestKey } from './call-key.js';
import { compose, concurrencyLimit, providerSlots, teacherMetrics, type CallContext, type TeacherMiddleware } from './middleware.js';
import type { Provider, ProviderRegistry } from './providers.js';
import { createStructured, type Structured, type StructuredRequest } from './structured.js';
import type { CompleteRequest, Completion, JsonSchema, TeacherRequest, TeacherResponse } from './teacher-request.js';
import { priceOf } from './pricing.js';
import { createRateControl, type RateControlDeps } from './rate/rate-control.js';
import { rateLimit } from './rate/rate-limit.middleware.js';
import { addUsage } from './usage.js';
import { toWireSchema } from './wire-schema.js';

export type { LlmSettings };
export type { CompleteRequest, Completion, StructuredRequest, EmbedRequest };

export interface LlmClient {
  /** One teacher request through the middleware chain: the neutral answer, tool calls included. */
  complete(req: CompleteRequest): Promise<Completion>;
  /** A JSON answer validated against `schema`, with failed attempts fed back to the teacher. */
  structured: Structured;
  resolve(settings: LlmSettings): { provider: Provider; model: string };
  /** Vectors of `texts` from an OpenAI-compatible `/v1/embeddings`, in order; usage counted like a teacher call. */
  embed: Embed;
  /**
   * The same client for one task's calls: each call carries `context` and its key (call-key.ts), so
   * the cache and batch middleware know whose answer it is. The worker binds one per task attempt.
   */
  bind(context: CallContext): LlmClient;
}

export interface LlmClientDeps {
  providers: ProviderRegistry;
  metrics?: Metrics;
  log?: Logger;
  /** Wrap every call, outermost first, outside the built-in metrics and per-provider concurrency limit. */
  middleware?: TeacherMiddleware[];
  /** The cache mode of calls whose `llm` names none (CACHE_DEFAULT; default 'use'). */
  cacheDefault?: CacheMode;
  /** The rate layer's shared buckets and run-event sink (src/llm/rate/); default: this process's buckets, no events. */
  rate?: Pick<RateControlDeps, 'store' | 'events'>;
}

export function createLlmClient(deps: LlmClientDeps): LlmClient {
  const wire = new WeakMap<JsonSchema, Record<string, unknown>>();
  const wireSchema = (schema: JsonSchema) => {
    let out = wire.get(schema);
    if (!out) wire.set(schema, (out = toWireSchema(schema)));
    return out;
  };
  const slots = providerSlots();
  const rate = createRateControl({ ...deps.rate, metrics: deps.metrics, log: deps.log, slots });
  const builtIn = [...(deps.metrics ? [teacherMetrics(deps.metrics)] : []), rateLimit(rate), concurrencyLimit(slots)];
  const call = compose([...(deps.middleware ?? []), ...builtIn], providerCall(rate.observe));

  function resolve(settings: LlmSettings) {
    const provider = deps.providers.get(settings.provider);
    if (!provider) throw new LlmError('api', `unknown provider "${settings.provider}"`, { fatal: true });
    return { provider, model: settings.model ?? provider.defaultModel };
  }

  async function complete(req: CompleteRequest, bound?: { context: CallContext; seen: Map<string, number> }): Promise<Completion> {
    const { provider, model } = resolve(req.llm);
    const r = req.request;
    const request: TeacherRequest = {
      ...r,
      temperature: r.temperature ?? req.llm.temperature,
      max_tokens: r.max_tokens ?? req.llm.max_tokens,
      tools: r.tools?.map((t) => ({ ...t, parameters: wireSchema(t.parameters) })),
      response: r.response && { name: r.response.name, schema: wireSchema(r.response.schema) },
    };
    let key: string | undefined;
    if (bound) {
      const base = requestKey(provider, model, request);
      const occurrence = bound.seen.get(base) ?? 0;
      bound.seen.set(base, occurrence + 1);
      key = callKey(request, base, bound.context, occurrence);
    }
    const settings = { cache: req.llm.cache ?? deps.cacheDefault ?? 'use', mode: req.llm.mode ?? 'online' } as const;
    let response: TeacherResponse;
    try {
      response = await call({ provider, model, request, rejects: req.rejects, ...settings, ...(bound ? { context: bound.context, key } : {}) }, req.signal);
    } catch (err) {
      throw toLlmError(err, req.signal);
    }
    const spent = req.usage.cost_usd;
    addUsage(req.usage, response.usage, priceOf(provider, model), response.via);
    if (req.usage.cost_usd > spent) deps.metrics?.llmCost.inc({ provider: provider.name, model: modelLabel(provider, model) }, req.usage.cost_usd - spent);
    return { response, model, provider: provider.name };
  }

  const embed = createEmbedder({ providers: deps.providers, metrics: deps.metrics, slots });
  const client = (bound?: { context: CallContext; seen: Map<string, number> }): LlmClient => {
    const completeIn = (req: CompleteRequest) => complete(req, bound);
    return { complete: completeIn, structured: createStructured(completeIn, deps.log), resolve, embed, bind: (context) => client({ context, seen: new Map() }) };
  };
  return client();
}

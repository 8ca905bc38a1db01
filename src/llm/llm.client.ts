import type { TSchema, Static } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import type { Usage } from '../../db/queue.repository.js';
import { modelLabel, type Metrics } from '../metrics.js';
import { createAdapter, type ChatAdapter, type ChatMessage } from './adapters.js';
import { LlmError, type FailureCategory } from './llm.errors.js';
import type { Provider, ProviderRegistry } from './providers.js';
import { toStorable } from '../safe-input.js';
import { toWireSchema } from './wire-schema.js';

export interface LlmSettings {
  provider?: string;
  model?: string;
  temperature?: number;
  max_tokens?: number;
}

export interface StructuredRequest<S extends TSchema> {
  llm: LlmSettings;
  system?: string;
  prompt: string;
  schema: S;
  schemaName: string;
  signal: AbortSignal;
  /** Accumulates what the call cost, including failed attempts. */
  usage: Usage;
  /** Extra attempts with the validation error fed back (DeepFabric's sample_retries). */
  sampleRetries?: number;
  /** A check the schema cannot express (e.g. items aligned with the input); its message is fed back like a schema error. */
  check?: (value: Static<S>) => string | undefined;
}

export interface LlmClient {
  structured<S extends TSchema>(req: StructuredRequest<S>): Promise<{ value: Static<S>; model: string; provider: string }>;
  resolve(settings: LlmSettings): { provider: Provider; model: string };
}

const MAX_ECHO = 4000;

export function createLlmClient(deps: { providers: ProviderRegistry; metrics?: Metrics; log?: Logger }): LlmClient {
  const adapters = new Map<string, { call: ChatAdapter; limit: LimitFunction }>();
  const checkers = new WeakMap<TSchema, TypeCheck<TSchema>>();
  const wire = new WeakMap<TSchema, Record<string, unknown>>();

  function adapterFor(p: Provider) {
    let a = adapters.get(p.name);
    if (!a) adapters.set(p.name, (a = { call: createAdapter(p), limit: pLimit(p.maxConcurrency) }));
    return a;
  }

  function resolve(settings: LlmSettings) {
    const provider = deps.providers.get(settings.provider);
    if (!provider) throw new LlmError('api', `unknown provider "${settings.provider}"`, { fatal: true });
    return { provider, model: settings.model ?? provider.defaultModel };
  }

  async function structured<S extends TSchema>(req: StructuredRequest<S>) {
    const { provider, model } = resolve(req.llm);
    const label = modelLabel(provider, model);
    const { call, limit } = adapterFor(provider);
    let check = checkers.get(req.schema);
    if (!check) checkers.set(req.schema, (check = TypeCompiler.Compile(req.schema)));
    let schema = wire.get(req.schema);
    if (!schema) wire.set(req.schema, (schema = toWireSchema(req.schema)));

    const messages: ChatMessage[] = [{ role: 'user', content: req.prompt }];
    const attempts = 1 + (req.sampleRetries ?? 2);
    let last: { category: FailureCategory; message: string } = { category: 'json', message: 'no answer' };
    for (let attempt = 0; attempt < attempts; attempt++) {
      const started = performance.now();
      let result;
      try {
        result = await limit(() => {
          req.signal.throwIfAborted();
          return call({ model, system: req.system, messages, temperature: req.llm.temperature, maxTokens: req.llm.max_tokens, schemaName: req.schemaName, schema: schema! }, req.signal);
        });
      } catch (err) {
        const e = err instanceof LlmError ? err : req.signal.aborted ? new LlmError('canceled', 'aborted') : new LlmError('api', (err as Error).message, { retryable: true });
        deps.metrics?.llmRequests.inc({ provider: provider.name, model: label, outcome: e.category });
        throw e;
      }
      deps.metrics?.llmLatency.observe({ provider: provider.name }, (performance.now() - started) / 1000);
      deps.metrics?.llmTokens.inc({ provider: provider.name, direction: 'input' }, result.usage.input);
      deps.metrics?.llmTokens.inc({ provider: provider.name, direction: 'output' }, result.usage.output);
      req.usage.requests += 1;
      req.usage.input_tokens += result.usage.input;
      req.usage.output_tokens += result.usage.output;
      req.usage.cost_usd += (result.usage.input * provider.pricing.input_per_mtok + result.usage.output * provider.pricing.output_per_mtok) / 1e6;

      if (result.finish === 'refusal') {
        deps.metrics?.llmRequests.inc({ provider: provider.name, model: label, outcome: 'refusal' });
        throw new LlmError('refusal', `the teacher refused: ${result.refusal ?? ''}`.trim());
      }
      let verdict = judge(result, check);
      if (verdict.ok && req.check) {
        const problem = req.check(verdict.value as Static<S>);
        if (problem) verdict = { ok: false, category: 'schema', message: `the answer is inconsistent: ${problem}`, feedback: `Your JSON was inconsistent: ${problem}\nAnswer again with corrected JSON.` };
      }
      deps.metrics?.llmRequests.inc({ provider: provider.name, model: label, outcome: verdict.ok ? 'ok' : verdict.category });
      if (verdict.ok) return { value: verdict.value as Static<S>, model, provider: provider.name };
      last = verdict;
      deps.log?.debug({ provider: provider.name, model, attempt, category: verdict.category }, 'teacher answer rejected');
      messages.push({ role: 'assistant', content: result.text.slice(0, MAX_ECHO) || '(empty)' }, { role: 'user', content: verdict.feedback });
    }
    throw new LlmError(last.category, `${last.message} (after ${attempts} attempts)`, { retryable: true });
  }

  return { structured, resolve };
}

type Verdict = { ok: true; value: unknown } | { ok: false; category: FailureCategory; message: string; feedback: string };

function judge(result: { text: string; parsed?: unknown; finish: string }, check: TypeCheck<TSchema>): Verdict {
  if (result.finish === 'length') {
    return { ok: false, category: 'length', message: 'the answer was cut off at max_tokens', feedback: 'Your answer was cut off because it was too long. Answer again, more concisely, with complete JSON.' };
  }
  let value = result.parsed;
  if (value === undefined) {
    try {
      value = JSON.parse(result.text);
    } catch (err) {
      return { ok: false, category: 'json', message: `the answer is not valid JSON: ${(err as Error).message}`, feedback: `Your answer was not valid JSON (${(err as Error).message}). Answer again with only a JSON object that follows the schema.` };
    }
  }
  // A NUL or a lone surrogate in an answer would fail the commit (Postgres cannot store it): mended here.
  value = toStorable(value);
  if (check.Check(value)) return { ok: true, value };
  const errors = [...check.Errors(value)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
  return { ok: false, category: 'schema', message: `the answer does not match the schema: ${errors.join('; ')}`, feedback: `Your JSON did not match the required schema:\n- ${errors.join('\n- ')}\nAnswer again with JSON that fixes these problems.` };
}

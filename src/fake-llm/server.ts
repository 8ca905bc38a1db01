// A fake OpenAI + Anthropic endpoint on loopback, so the real SDKs (with their retry, timeout and
// parsing logic) can be exercised without network access, credentials or cost.
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { anthropicWire } from './anthropic.js';
import { createBatchRoutes, type BatchKnobs, type FakeBatchStats, type LineAnswer } from './batch-routes.js';
import { checkCount, checkFaults, checkLatency, checkPins, faultAnswer } from './knobs.js';
import { embeddingResponse, readEmbeddingRequest } from './embeddings.js';
import { modelList, readBody, send } from './http.js';
import { openaiWire } from './openai.js';
import { createFakeRate, type RateKnobs } from './rate.js';
import { hash } from './prompt-text.js';
import type { AnswerFault, FaultRule, PinRule, ToolKnobs, WireProvider } from './types.js';

export type { FaultKind, FaultRule } from './types.js';

export interface FakeLlmOptions extends RateKnobs {
  port?: number;
  /** Delay before every answer (including fault answers, except 'hang'): fixed, or uniform in [min, max]. */
  latencyMs?: number | [number, number];
  /** Prefixed to every generated string, e.g. to mark demo output as an offline placeholder. */
  label?: string;
  faults?: FaultRule[];
  /** With tool_choice 'auto', call the offered tools instead of answering (default false). */
  autoToolCalls?: boolean;
  /** Tool calls per tool-calling turn (default 1). */
  toolCallsPerTurn?: number;
  /**
   * Obey the request's JSON Schema and nothing else, as constrained decoding on a small model does:
   * random schema-valid values (random key order, array lengths, enum picks), nothing echoed from
   * the prompt — no item labels, no passage text (default false; reset() leaves it as it is).
   */
  schemaOnly?: boolean;
  /**
   * Requests whose prompt contains a rule's `match` get its `values` for those top-level properties
   * of their JSON answer (or forced tool input), the rest generated as usual: a test scripts one
   * teacher decision (a judge that approves) and leaves everything else to the fake.
   */
  pins?: PinRule[];
  /** Share (0–1) of prompt tokens reported as prompt-cache reads, as OpenAI and Anthropic report them (default 0). */
  cachedPromptShare?: number;
  /** Batch endpoints (batches.ts): how long a batch takes to answer its lines and end (default 20 ms). */
  batch?: Partial<BatchKnobs>;
}

export interface FakeLlmStats {
  /** Requests to the provider API (/v1/...); the /_fake control endpoints are not counted. */
  requests: number;
  /** 200 answers from the two completion endpoints, including malformed/schema/truncate/refusal ones (embeddings are in byPath). */
  completions: number;
  faults: Record<string, number>;
  inFlight: number;
  /** Most requests in flight at once since the last reset. */
  peakInFlight: number;
  byPath: Record<string, number>;
  /** Requests turned away with 429 by the `rate` knob or `rateLimitedForS` (fault-rule 429s are in `faults`). */
  rateLimited: number;
  /** Batches created per API and batch lines answered (their answers are not in `completions`). */
  batch: FakeBatchStats;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  at: number;
  /** The 200 answer a completion request got (absent for faults answered with an error status). */
  response?: unknown;
}

export interface FakeLlm {
  url: string;
  openaiBaseUrl: string;
  anthropicBaseUrl: string;
  port: number;
  configure(options: Partial<FakeLlmOptions>): void;
  stats(): FakeLlmStats;
  requests(): RecordedRequest[];
  reset(): void;
  close(): Promise<void>;
}

const MAX_RECORDED = 1000;
const WIRES: Record<string, WireProvider> = { '/v1/chat/completions': openaiWire, '/v1/messages': anthropicWire };

export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  let latency: number | [number, number] = 0;
  let label = '';
  let schemaOnly = false;
  let faults: FaultRule[] = [];
  let pins: PinRule[] = [];
  let cachedShare = 0;
  const tools: ToolKnobs = { autoToolCalls: false, toolCallsPerTurn: 1 };
  let counters = { requests: 0, completions: 0, faults: {} as Record<string, number>, byPath: {} as Record<string, number> };
  let recorded: RecordedRequest[] = [];
  // Kept outside `counters` so a reset() during traffic cannot drive it negative.
  let inFlight = 0;
  let peakInFlight = 0;
  let nextId = 0;
  const idPrefix = Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0');
  const closing = new AbortController();
  // Every delayed answer listens on this one signal; dozens in flight is normal, not a leak.
  setMaxListeners(0, closing.signal);

  // Batch lines are answered by the completion endpoints' own logic (answerCompletion, below).
  const batches = createBatchRoutes((wire, raw, body, online) => answerCompletion(wire, raw, body, online));

  const rate = createFakeRate();
  const configure = (o: Partial<FakeLlmOptions>) => {
    rate.configure(o);
    if (o.batch !== undefined) batches.configure(o.batch);
    if (o.latencyMs !== undefined) latency = checkLatency(o.latencyMs);
    if (o.label !== undefined) label = String(o.label);
    if (o.schemaOnly !== undefined) schemaOnly = o.schemaOnly === true;
    if (o.faults !== undefined) faults = checkFaults(o.faults);
    if (o.pins !== undefined) pins = checkPins(o.pins);
    if (o.cachedPromptShare !== undefined) cachedShare = Math.min(1, Math.max(0, Number(o.cachedPromptShare) || 0));
    if (o.autoToolCalls !== undefined) tools.autoToolCalls = o.autoToolCalls === true;
    if (o.toolCallsPerTurn !== undefined) tools.toolCallsPerTurn = checkCount(o.toolCallsPerTurn);
  };
  configure(options);

  const takeFault = (promptText: string): FaultRule | undefined => {
    const index = faults.findIndex((r) => r.match === undefined || promptText.includes(r.match));
    const rule = faults[index];
    if (!rule) return undefined;
    if (rule.times !== undefined && --rule.times <= 0) faults.splice(index, 1);
    counters.faults[rule.kind] = (counters.faults[rule.kind] ?? 0) + 1;
    return rule;
  };

  const delay = async () => {
    const ms = typeof latency === 'number' ? latency : latency[0] + Math.random() * (latency[1] - latency[0]);
    // Aborted by close() so pending answers do not keep the process alive.
    if (ms > 0) await sleep(ms, undefined, { signal: closing.signal }).catch(() => undefined);
  };

  /** Delays the answer; answers a 429 or 500 fault, or leaves a 'hang' unanswered: true when the request is done. */
  const failed = async (res: http.ServerResponse, wire: WireProvider, fault: FaultRule | undefined) => {
    // Leave the socket open: the client's timeout/abort or close() ends it.
    if (fault?.kind === 'hang') return true;
    await delay();
    const failure = faultAnswer(wire, fault);
    return failure ? (send(res, failure.status, failure.body, failure.headers), true) : false;
  };

  /** /v1/embeddings: the fault knobs match the joined inputs; other answer faults do not apply to vectors. */
  const embed = async (res: http.ServerResponse, body: Record<string, any>, entry: RecordedRequest) => {
    const request = readEmbeddingRequest(body);
    if (typeof request === 'string') return send(res, 400, openaiWire.error('invalid_request_error', request));
    if (await failed(res, openaiWire, takeFault(request.input.join('\n')))) return;
    entry.response = embeddingResponse(request);
    send(res, 200, entry.response);
  };

  /**
   * A completion as its endpoint answers it — validation, the fault knobs, the answer — for the HTTP
   * handler below and for every batch line alike. `online: false` (a batch line) skips the latency.
   */
  const answerCompletion = async (wire: WireProvider, raw: string, body: Record<string, any>, online: boolean): Promise<LineAnswer> => {
    const invalid = wire.validate(body);
    if (invalid) return { status: 400, body: wire.error('invalid_request_error', invalid) };
    const prompt = wire.prompt(body);
    const fault = takeFault(prompt.all);
    if (fault?.kind === 'hang') return 'hang';
    if (online) await delay();
    const failure = faultAnswer(wire, fault);
    if (failure) return failure;
    const id = `${idPrefix}${(nextId++).toString(16).padStart(6, '0')}`;
    const answer = wire.reply({ body, prompt, fault: fault?.kind as AnswerFault | undefined, seed: hash(raw), label, id, tools: { ...tools }, schemaOnly, pinned: pins.find((p) => prompt.all.includes(p.match))?.values, cachedShare });
    return { status: 200, body: answer };
  };

  const complete = async (res: http.ServerResponse, wire: WireProvider, raw: string, body: Record<string, any>, entry: RecordedRequest) => {
    const answer = await answerCompletion(wire, raw, body, true);
    // Leave the socket open: the client's timeout/abort or close() ends it.
    if (answer === 'hang') return;
    if (answer.status !== 200) return send(res, answer.status, answer.body, answer.headers);
    entry.response = answer.body;
    if (send(res, 200, answer.body)) counters.completions++;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://fake').pathname.replace(/(.)\/+$/, '$1');
    // The Anthropic SDK always sends this header; it picks the error and model-list shapes.
    const isAnthropic = req.headers['anthropic-version'] !== undefined;
    const raw = method === 'POST' ? await readBody(req) : '';

    if (path.startsWith('/_fake/')) return control(method, path, raw, res);

    counters.requests++;
    counters.byPath[path] = (counters.byPath[path] ?? 0) + 1;
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    res.on('close', () => inFlight--);
    if (batches.owns(path)) return batches.handle(req, path, raw, res);

    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      const wire = WIRES[path] ?? (isAnthropic ? anthropicWire : openaiWire);
      return send(res, 400, wire.error('invalid_request_error', 'request body is not valid JSON'));
    }
    const entry: RecordedRequest = { method, path, body, at: Date.now() };
    recorded.push(entry);
    if (recorded.length > MAX_RECORDED) recorded = recorded.slice(-MAX_RECORDED);
    // The rate knob (rate.ts) turns away over-limit completion and embedding requests before anything else.
    if (method === 'POST' && (WIRES[path] || path === '/v1/embeddings') && !rate.admit(res, path === '/v1/messages' ? 'anthropic' : 'openai', raw.length / 4)) {
      return send(res, 429, (WIRES[path] ?? openaiWire).error('rate_limit_error', 'Rate limit reached (fake-llm rate knob)'));
    }

    if (method === 'POST' && path === '/v1/embeddings') return isObject(body) ? embed(res, body, entry) : send(res, 400, openaiWire.error('invalid_request_error', 'request body must be a JSON object'));
    const wire = WIRES[path];
    if (method === 'POST' && wire) {
      if (!isObject(body)) return send(res, 400, wire.error('invalid_request_error', 'request body must be a JSON object'));
      return complete(res, wire, raw, body, entry);
    }
    if (method === 'GET' && path === '/v1/models') return send(res, 200, modelList(isAnthropic));
    const notFound = (isAnthropic ? anthropicWire : openaiWire).error('not_found_error', `Unknown endpoint: ${method} ${path}`);
    return send(res, 404, notFound);
  };

  const control = (method: string, path: string, raw: string, res: http.ServerResponse) => {
    if (method === 'GET' && path === '/_fake/stats') return send(res, 200, stats());
    if (method === 'GET' && path === '/_fake/requests') return send(res, 200, recorded);
    if (method === 'POST' && path === '/_fake/reset') return reset(), send(res, 200, { ok: true });
    if (method === 'POST' && path === '/_fake/config') {
      try {
        configure(raw ? JSON.parse(raw) : {});
        return send(res, 200, { ok: true, latencyMs: latency, label, schemaOnly, faults, ...tools, batch: batches.knobs() });
      } catch (err) {
        return send(res, 400, { error: { message: (err as Error).message, type: 'invalid_request_error' } });
      }
    }
    return send(res, 404, { error: { message: `Unknown endpoint: ${method} ${path}`, type: 'not_found_error' } });
  };

  const stats = (): FakeLlmStats => ({
    requests: counters.requests,
    completions: counters.completions,
    faults: { ...counters.faults },
    inFlight,
    peakInFlight,
    byPath: { ...counters.byPath },
    rateLimited: rate.refused,
    batch: batches.stats(),
  });

  const reset = () => {
    counters = { requests: 0, completions: 0, faults: {}, byPath: {} };
    batches.resetCounters();
    recorded = [];
    faults = [];
    rate.reset();
    Object.assign(tools, { autoToolCalls: false, toolCallsPerTurn: 1 });
    peakInFlight = inFlight;
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => send(res, 500, { error: { message: `fake-llm: ${(err as Error).message}`, type: 'api_error' } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    port,
    configure,
    stats,
    requests: () => [...recorded],
    reset,
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        batches.close();
        // close() alone would wait for hanging requests and idle keep-alive sockets.
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

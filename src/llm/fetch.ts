import { Agent, request } from 'undici';

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * A `fetch` for the provider SDKs built on undici's `request()`: teacher answers are small JSON
 * documents, read whole. It answers with a {@link ReadResponse}, not a WHATWG `Response`: building
 * a `Response` and its `Headers` and reading it back through a web stream cost about a tenth of the
 * service's CPU per teacher call, for a body that is already in memory. One keep-alive pool per provider.
 */
export function createProviderFetch(connections: number, observe?: ResponseObserver): typeof fetch {
  const dispatcher = new Agent({ connections, keepAliveTimeout: 30_000, pipelining: 1 });
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const res = await request(url, {
      method: (init?.method ?? 'GET') as 'GET',
      headers: init?.headers instanceof Headers ? Object.fromEntries(init.headers) : (init?.headers as Record<string, string> | undefined),
      body: init?.body as string | undefined,
      signal: init?.signal ?? undefined,
      dispatcher,
    });
    const body = NULL_BODY_STATUSES.has(res.statusCode) ? null : Buffer.from(await res.body.arrayBuffer());
    const headers = new ReadHeaders(res.headers);
    if (observe) {
      observe(res.statusCode, headers);
      // The observer's rate limiter retries 429s itself, after its bucket and breaker: both SDKs honour x-should-retry.
      if (res.statusCode === 429) res.headers['x-should-retry'] = 'false';
    }
    return new ReadResponse(url, res.statusCode, headers, body) as unknown as Response;
  }) as typeof fetch;
}

/**
 * Sees every HTTP answer the SDK gets, its own retries included (src/llm/rate/ counts 429s and
 * learns limits from the headers). With an observer, the SDK does not retry 429s.
 */
export type ResponseObserver = (status: number, headers: Headers) => void;

type RawHeaders = Record<string, string | string[] | undefined>;

/**
 * The headers as undici parsed them (lower-case names), behind the `Headers` methods the SDKs call.
 * It is a `Headers` so `instanceof Headers` checks (ours in sdk-errors.ts, the SDKs') hold; the
 * inherited storage stays empty and every read goes to the parsed object.
 */
class ReadHeaders extends Headers {
  readonly #raw: RawHeaders;
  constructor(raw: RawHeaders) {
    super();
    this.#raw = raw;
  }
  override get(name: string): string | null {
    const value = this.#raw[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  }
  override has(name: string): boolean {
    return this.#raw[name.toLowerCase()] !== undefined;
  }
  override *entries(): HeadersIterator<[string, string]> {
    for (const name of Object.keys(this.#raw).sort()) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }
  override *keys(): HeadersIterator<string> {
    for (const [name] of this.entries()) yield name;
  }
  override *values(): HeadersIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }
  override forEach(callback: (value: string, name: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }
  override [Symbol.iterator]() {
    return this.entries();
  }
  override getSetCookie(): string[] {
    const value = this.#raw['set-cookie'];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  }
}

/** A finished response whose body is in memory: the subset of `Response` the OpenAI and Anthropic SDKs read. */
class ReadResponse {
  readonly ok: boolean;
  readonly statusText = '';
  readonly redirected = false;
  readonly type = 'basic';
  /** No stream: the body was read whole. The SDKs only hand it to a cancel that accepts null. */
  readonly body = null;
  #used = false;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly headers: Headers,
    readonly bytes: Buffer | null,
  ) {
    this.ok = status >= 200 && status < 300;
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  async text(): Promise<string> {
    return this.#take().toString('utf8');
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#take();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  async blob(): Promise<Blob> {
    return new Blob([new Uint8Array(this.#take())]);
  }
  clone(): ReadResponse {
    if (this.#used) throw new TypeError('Response body is already used');
    return new ReadResponse(this.url, this.status, this.headers, this.bytes);
  }

  #take(): Buffer {
    if (this.#used) throw new TypeError('Response body is already used');
    this.#used = true;
    return this.bytes ?? Buffer.alloc(0);
  }
}

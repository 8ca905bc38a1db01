import { Agent, request } from 'undici';

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * A `fetch` for the provider SDKs built on undici's `request()`: teacher answers are small JSON
 * documents, and reading them whole skips the WHATWG stream machinery that dominated the service's
 * CPU profile at high concurrency. One keep-alive pool per provider.
 */
export function createProviderFetch(connections: number): typeof fetch {
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
    const body = NULL_BODY_STATUSES.has(res.statusCode) ? null : await res.body.arrayBuffer();
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (Array.isArray(value)) value.forEach((v) => headers.append(name, v));
      else if (value !== undefined) headers.set(name, value);
    }
    return new Response(body, { status: res.statusCode, headers });
  }) as typeof fetch;
}

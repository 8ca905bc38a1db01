import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { timeoutOptions } from '../../src/http/connections.js';

describe('HTTP timeouts in the configuration', () => {
  it('defaults: headers 30 s, request 120 s, keep-alive 72 s, idle socket 630 s (past the longest Prefer: wait)', () => {
    expect(loadConfig({}).http).toEqual({ headersMs: 30_000, requestMs: 120_000, keepAliveMs: 72_000, connectionMs: 630_000 });
  });

  it('hands them to Fastify and Node, checking deadlines at half the headers deadline', () => {
    expect(timeoutOptions(loadConfig({}).http)).toEqual({
      connectionTimeout: 630_000,
      keepAliveTimeout: 72_000,
      requestTimeout: 120_000,
      http: { headersTimeout: 30_000, requestTimeout: 120_000, connectionsCheckingInterval: 15_000 },
    });
  });

  it.each([
    [{ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' }, 'HTTP_HEADERS_TIMEOUT_MS (5000) must not exceed HTTP_REQUEST_TIMEOUT_MS (1000)'],
    [{ HTTP_CONNECTION_TIMEOUT_MS: '60000' }, 'HTTP_CONNECTION_TIMEOUT_MS must be 0 or above 600000'],
    [{ HTTP_CONNECTION_TIMEOUT_MS: '700000', SSE_KEEPALIVE_MS: '700000' }, 'SSE_KEEPALIVE_MS (700000) must be below HTTP_CONNECTION_TIMEOUT_MS (700000)'],
    [{ HTTP_REQUEST_TIMEOUT_MS: '0' }, 'HTTP_REQUEST_TIMEOUT_MS'],
    [{ HTTP_KEEP_ALIVE_TIMEOUT_MS: '1.5' }, 'HTTP_KEEP_ALIVE_TIMEOUT_MS: must be an integer'],
  ])('refuses %j at start, naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('takes 0 as no idle-socket timeout', () => {
    expect(loadConfig({ HTTP_CONNECTION_TIMEOUT_MS: '0' }).http.connectionMs).toBe(0);
  });
});

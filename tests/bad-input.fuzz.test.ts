import net from 'node:net';
import { request as httpRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { bodyCases, loadOperations, parameterCases, pathCases, resolvePath, type Case, type Family, type Seeds } from './support/contract-cases.js';
import { markdownDoc, startHarness, storedCounts, type Harness } from './support/harness.js';

/**
 * The bad-input suite: every operation of the committed contract gets the same families of
 * malformed input, generated from its schema. Each must be a 4xx in the error shape naming the
 * field at fault; nothing may be queued or stored; the service must still answer afterwards.
 */
const operations = loadOperations(new URL('../openapi/openapi.json', import.meta.url).pathname);

async function send(h: Harness, c: Case): Promise<{ status: number; text: string; contentType: string }> {
  if (c.raw) {
    const socket = net.connect(Number(new URL(h.url).port), '127.0.0.1');
    let out = '';
    socket.on('data', (d) => (out += d.toString('utf8')));
    socket.write(c.raw);
    await new Promise((resolve) => socket.on('close', resolve).on('error', resolve));
    const split = out.indexOf('\r\n\r\n');
    const head = out.slice(0, split);
    return { status: Number(head.split(' ')[1]), text: out.slice(split + 4), contentType: /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '' };
  }
  const res = await httpRequest(`${h.url}${c.url}`, { method: c.method as 'GET', headers: c.headers, body: c.body });
  const text = await res.body.text();
  return { status: res.statusCode, text, contentType: String(res.headers['content-type'] ?? '') };
}

/** A detail names the field when it is the field or lies inside it (`lancedb` is at fault when `lancedb.uri` is missing). */
const names = (detail: string | undefined, fields: string[]) => detail !== undefined && fields.some((f) => detail === f || detail.startsWith(`${f}.`));

describe.each(DATABASES)('bad input on every route of the contract (%s)', (db) => {
  let h: Harness;
  let seeds: Seeds;
  let baseline: Record<string, number>;
  const tally = new Map<Family, { requests: number; statuses: Record<number, number> }>();

  beforeAll(async () => {
    // Thousands of requests from one key in a few seconds: the rate limit (its own suite) is off here.
    h = await startHarness({ db, env: { BODY_LIMIT_BYTES: String(2 * 1024 * 1024), RATE_LIMIT_PER_MINUTE: '0' } });
    // One of each resource, so ids in paths and bodies reach the handlers.
    const run = await fetch(`${h.url}/v1/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'wait=60' },
      body: JSON.stringify({ documents: [markdownDoc('seed.md', 1)], n_pairs: 1 }),
    }).then((r) => r.json());
    const ds = await fetch(`${h.url}/v1/datasets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ question: 'q', answer: 'a' }]) }).then((r) => r.json());
    const tp = await fetch(`${h.url}/v1/topics/import`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"path":["root","leaf"]}\n' }).then((r) => r.json());
    seeds = { run: run.run.id, ds: ds.dataset.id, tp: tp.topics.id };
    expect(run.run.status).toBe('succeeded');
    baseline = await storedCounts(h);
  });

  afterAll(async () => {
    const table = [...tally].map(([family, t]) => ({ family, requests: t.requests, statuses: JSON.stringify(t.statuses) }));
    const total = table.reduce((n, r) => n + r.requests, 0);
    console.log(`bad-input suite (${db}): ${total} requests over ${operations.length} operations`);
    console.table(table);
    await h?.close();
  });

  it.each(operations.map((op) => [`${op.method} ${op.path}`, op] as const))('%s', async (_name, op) => {
    const url = resolvePath(op.path, seeds, op);
    const cases = [...pathCases(op, seeds), ...parameterCases(op, url, seeds), ...bodyCases(op, url, seeds)];
    const failures: string[] = [];
    for (const c of cases) {
      const res = await send(h, c);
      const t = tally.get(c.family) ?? { requests: 0, statuses: {} };
      t.requests++;
      t.statuses[res.status] = (t.statuses[res.status] ?? 0) + 1;
      tally.set(c.family, t);
      const what = `${c.family} | ${c.label} | ${c.method} ${c.url.slice(0, 120)} → ${res.status} ${res.text.slice(0, 300)}`;
      let body: { error?: { code?: unknown; message?: unknown; details?: Array<{ field?: string }> } } | undefined;
      try {
        body = JSON.parse(res.text);
      } catch {
        body = undefined;
      }
      if (res.status >= 500 || !c.statuses.includes(res.status)) failures.push(`unexpected status: ${what}`);
      else if (!body?.error || typeof body.error.code !== 'string' || typeof body.error.message !== 'string' || !Array.isArray(body.error.details)) failures.push(`not the error shape: ${what}`);
      else if (!res.contentType.startsWith('application/json')) failures.push(`not JSON (${res.contentType}): ${what}`);
      else if (c.fields?.length && !body.error.details.some((d) => names(d.field, c.fields!))) failures.push(`does not name ${c.fields.join(' or ')}: ${what}`);
    }
    expect(failures, failures.slice(0, 15).join('\n')).toEqual([]);
    expect(await storedCounts(h), 'something was queued or stored').toEqual(baseline);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 120_000);

  it('the service still answers, and nothing was queued or stored', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
    expect(await storedCounts(h)).toEqual(baseline);
    expect([...tally.values()].reduce((n, t) => n + t.requests, 0)).toBeGreaterThan(1000);
  });
});

import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { loadConfig } from '../src/config.js';
import { createLlmClient } from '../src/llm/llm.client.js';
import { loadProviders } from '../src/llm/providers.js';
import { toStorable } from '../src/safe-input.js';
import { startFakeLlm } from '../src/fake-llm/server.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

// What Quarry reads from others (LanceDB rows, teacher answers) may hold characters Postgres cannot
// store. Refusing the request is not possible there, so they are mended and the records kept.
const NUL = '\u0000';
const LONE = '\ud800';
const storable = (s: string) => !s.includes(NUL) && (s as string & { isWellFormed(): boolean }).isWellFormed();
const strings = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.entries(v).flatMap(([k, x]) => [k, ...strings(x)]) : [];

describe('toStorable', () => {
  it('drops NUL and replaces lone surrogates in keys and values, leaving the rest as it is', () => {
    const clean = { a: ['x', 1, { b: 'ok \ud83d\ude00' }] };
    expect(toStorable(clean)).toBe(clean);
    const mended = toStorable({ [`k${NUL}`]: [`a${NUL}b`, `c${LONE}d`, { e: `\udc00` }], n: 3 });
    expect(mended).toEqual({ k: ['ab', 'c\ufffdd', { e: '\ufffd' }], n: 3 });
  });
});

describe('teacher answers', () => {
  it('an answer carrying NUL or a lone surrogate is mended before it is validated and stored', async () => {
    const fake = await startFakeLlm();
    try {
      const sut = createLlmClient({ providers: loadProviders(loadConfig({ OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_API_KEY: 'k', DEFAULT_PROVIDER: 'openai' })) });
      const schema = Type.Object({ question: Type.String(), answer: Type.String() });
      // The fake teacher draws its strings from the fenced passage, so these characters come back in the answer.
      const prompt = `Write a pair.\n\n\`\`\`\nBackups${NUL} run at ${LONE} midnight and keep ${NUL}seven days.\n\`\`\``;
      const usage = { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 0 };
      const { value } = await sut.structured({ llm: {}, prompt, schema, schemaName: 'pair', signal: new AbortController().signal, usage });
      const raw = JSON.stringify((fake.requests().at(-1) as any).body);
      expect(raw).toContain('\\u0000');
      expect(strings(value).every(storable)).toBe(true);
      expect(strings(value).join(' ')).toMatch(/Backups|midnight|seven/);
    } finally {
      await fake.close();
    }
  });
});

describe.each(DATABASES)('unstorable characters in sources (%s)', (db) => {
  let h: Harness;
  const root = mkdtempSync(join(tmpdir(), 'quarry-lance-nul-'));
  const uri = join(root, 'db.lance');

  beforeAll(async () => {
    mkdirSync(uri, { recursive: true });
    const lance = await lancedb.connect(uri);
    await lance.createTable('text_chunks', [
      { id: 'n1', content: `Backups run nightly.${NUL} They keep seven days of history.`, source_file: `docs/back${NUL}ups.md`, section_path: 'Ops > Backups' },
      { id: 'n2', content: `Restores read the newest backup ${LONE} first.`, source_file: 'docs/restore.md', section_path: `Ops > Re${LONE}store` },
    ], { mode: 'overwrite' });
    h = await startHarness({ db, fake: { latencyMs: 2 }, env: { LANCEDB_ROOTS: root } });
  });
  afterAll(() => h?.close());

  it('a LanceDB row with NUL or a lone surrogate is mended, planned and generated from, every record kept', async () => {
    const run = (await request(h.url).post('/v1/generate').set('Prefer', 'wait=30').send({ lancedb: { uri, tables: ['text_chunks'] }, n_pairs: 2 }).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'succeeded', progress: { total: 2, failed: 0, records: 4 } });
    const records = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/records`).expect(200)).body.records;
    expect(records).toHaveLength(4);
    for (const r of records) expect(strings(r.data).every(storable)).toBe(true);
    // The fake teacher writes its answers from the passage it was sent: the mended text reached it.
    const passages = h.fake.requests().map((q) => JSON.stringify(q.body));
    expect(passages.some((p) => p.includes('Backups run nightly. They keep'))).toBe(true);
    const exported = await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/export?format=chatml`).expect(200);
    expect(exported.text.trim().split('\n')).toHaveLength(4);
  });
});

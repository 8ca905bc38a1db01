import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

const KEY = 'cli-test-key';

const doc = {
  name: 'cli.md',
  text:
    `## Calm\n\n${'The calm section explains that retries are cheap and records are precious. '.repeat(3)}\n\n` +
    `## Stormy\n\nThe MARKER section explains that faults happen and must cost at most a retry. ${'Faults come and go. '.repeat(6)}\n`,
};

describe.each(DATABASES)('quarry CLI (%s)', (db) => {
  let h: Harness;
  let dir: string;
  let env: Record<string, string>;
  const specFile = (name: string, spec: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(spec));
    return file;
  };
  const api = () => request(h.url);

  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 5 }, env: { API_KEYS: KEY } });
    dir = mkdtempSync(join(tmpdir(), 'quarry-cli-'));
    env = { QUARRY_URL: h.url, QUARRY_API_KEY: KEY };
  });
  afterAll(async () => h?.close());
  beforeEach(() => {
    h.fake.reset();
    h.fake.configure({ latencyMs: 5, faults: [] });
  });

  it('generate --follow --out prints progress lines and writes the dataset, exit 0', async () => {
    const spec = specFile('gen.json', { documents: [doc], n_pairs: 1 });
    const out = join(dir, 'gen.jsonl');
    h.fake.configure({ latencyMs: 400 });
    const res = await runCli(['generate', spec, '--set', 'n_pairs=2', '--follow', '--out', out, '--format', 'jsonl'], env);
    expect(res.stderr).toMatch(/started run_/);
    expect(res.code, res.stderr).toBe(0);
    const progress = res.stderr.split('\n').filter((l) => / generate (queued|running|succeeded) \| tasks /.test(l));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toMatch(/succeeded \| tasks 2\/2 \| records 4 \|/);
    const runId = res.stdout.trim();
    const run = (await api().get(`/v1/runs/${runId}`).set('authorization', `Bearer ${KEY}`).expect(200)).body.run;
    // --set overrode the file's n_pairs.
    expect(run.spec.n_pairs).toBe(2);
    const exported = (await api().get(`/v1/datasets/${run.output.dataset_id}/export?format=jsonl`).set('authorization', `Bearer ${KEY}`).expect(200)).text;
    const written = readFileSync(out, 'utf8');
    expect(written).toBe(exported);
    expect(written.trim().split('\n')).toHaveLength(4);
  });

  it('a run whose task fails exits 3 and prints the failure', async () => {
    h.fake.configure({ faults: [{ kind: 'malformed', match: 'MARKER' }] });
    const spec = specFile('fail.json', { documents: [doc], n_pairs: 2, max_attempts: 1 });
    const res = await runCli(['generate', spec, '--follow'], env);
    expect(res.code, res.stderr).toBe(3);
    expect(res.stderr).toMatch(/ generate failed \| tasks 1\/2 .*failed 1 \(json 1\)/);
  });

  it('an invalid spec exits 2 naming the field, and starts nothing', async () => {
    const spec = specFile('bad.json', { documents: [doc], n_pairs: -3 });
    const before = (await api().get('/v1/runs').set('authorization', `Bearer ${KEY}`)).body.runs.length;
    const res = await runCli(['generate', spec, '--follow'], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/HTTP 400 validation_failed/);
    expect(res.stderr).toMatch(/n_pairs/);
    expect((await api().get('/v1/runs').set('authorization', `Bearer ${KEY}`)).body.runs.length).toBe(before);
  });

  it('a wrong key exits 2 naming Authorization; no server exits 1', async () => {
    const spec = specFile('ok.json', { documents: [doc], n_pairs: 1 });
    const denied = await runCli(['generate', spec], { QUARRY_URL: h.url, QUARRY_API_KEY: 'nope' });
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(/Authorization/);
    const down = await runCli(['runs'], { QUARRY_URL: 'http://127.0.0.1:9', QUARRY_API_KEY: KEY });
    expect(down.code).toBe(1);
  });

  it('cancel exits 0, and a followed run that is canceled exits 4', async () => {
    h.fake.configure({ latencyMs: 3000 });
    const spec = specFile('slow.json', { documents: [doc], n_pairs: 2 });
    const followed = runCli(['generate', spec, '--follow'], env);
    let runId: string | undefined;
    for (let i = 0; i < 100 && !runId; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const runs = (await api().get('/v1/runs?status=running').set('authorization', `Bearer ${KEY}`)).body.runs;
      const queued = (await api().get('/v1/runs?status=queued').set('authorization', `Bearer ${KEY}`)).body.runs;
      runId = [...runs, ...queued][0]?.id;
    }
    expect(runId).toBeDefined();
    const canceled = await runCli(['cancel', runId!], env);
    expect(canceled.code, canceled.stderr).toBe(0);
    expect(canceled.stderr).toMatch(new RegExp(`${runId} generate canceled`));
    const res = await followed;
    expect(res.code, res.stderr).toBe(4);
    expect(res.stderr).toMatch(/generate canceled/);
  });

  it('runs --status and datasets list what the key owns', async () => {
    const failed = await runCli(['runs', '--status', 'failed'], env);
    expect(failed.code).toBe(0);
    const lines = failed.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const line of lines) expect(line).toMatch(/^run_[0-9a-f]{24} generate failed \|/);
    const all = await runCli(['runs'], env);
    expect(all.stdout).toMatch(/ succeeded \|/);
    const datasets = await runCli(['datasets'], env);
    expect(datasets.code).toBe(0);
    expect(datasets.stdout).toMatch(/^ds_[0-9a-f]{24} \| .* \| records 4 \| run_/m);
    const bad = await runCli(['runs', '--status', 'sleeping'], env);
    expect(bad.code).toBe(2);
  });

  it('report prints a run\'s report as JSON for jq, or markdown; an unknown run exits 2', async () => {
    const spec = specFile('report.json', { documents: [doc], n_pairs: 1 });
    const runId = (await runCli(['generate', spec, '--follow'], env)).stdout.trim();
    const json = await runCli(['report', runId], env);
    expect(json.code, json.stderr).toBe(0);
    const served = (await api().get(`/v1/runs/${runId}/report`).set('authorization', `Bearer ${KEY}`).expect(200)).body;
    expect(JSON.parse(json.stdout)).toEqual(served);
    expect(served).toMatchObject({ run_id: runId, kind: 'generate', status: 'succeeded' });
    const markdown = await runCli(['report', runId, '--format', 'markdown'], env);
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toMatch(new RegExp(`^# Run ${runId} \\(generate\\)`));
    const missing = await runCli(['report', 'run_000000000000000000000000'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/HTTP 404 not_found/);
    expect((await runCli(['report', runId, '--format', 'csv'], env)).code).toBe(2);
  });
});

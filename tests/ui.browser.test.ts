import request from 'supertest';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from './support/browser.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';

const KEY = 'ui-browser-key';
/** The bound for the whole page: "a few hundred kB at most". */
const PAGE_BYTES_LIMIT = 300 * 1024;

declare global {
  interface Window {
    __firstRecord?: { status: string | undefined; records: number };
    __pwned?: boolean;
  }
}

/** Notes, in the page, the run status shown when the first live record is put on the page. */
function watchFirstRecord() {
  new MutationObserver(() => {
    if (window.__firstRecord || !document.querySelector('#live-records li')) return;
    const badge = document.querySelector<HTMLElement>('.head h1 [data-status]');
    window.__firstRecord = { status: badge?.dataset.status, records: document.querySelectorAll('#live-records li').length };
  }).observe(document, { childList: true, subtree: true });
}

describe.skipIf(!browserAvailable).each(DATABASES)('the /ui page in Chromium (%s)', (db) => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  const api = () => request(h.url);
  const auth = { authorization: `Bearer ${KEY}` };

  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 5 }, env: { API_KEYS: KEY } });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });
  beforeEach(async () => {
    h.fake.reset();
    h.fake.configure({ latencyMs: 5, faults: [] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  afterEach(async () => page?.close());

  const withKey = async () => page.addInitScript((key) => localStorage.setItem('quarry.apiKey', key), KEY);

  it('is served by Quarry alone, a few hundred kB, and asks for the key that the data needs', async () => {
    const origins = new Set<string>();
    page.on('request', (r) => origins.add(new URL(r.url()).origin));
    await page.goto(`${h.url}/ui/`);
    // The runs list answered 401, so the page asks for a key; with it, the list loads.
    await page.locator('#key-dialog[open]').waitFor();
    await page.fill('#key-input', KEY);
    await page.click('#key-save');
    await page.locator('#runs tbody tr').first().waitFor();
    await expect.poll(() => page.evaluate(() => localStorage.getItem('quarry.apiKey'))).toBe(KEY);
    await page.waitForLoadState('networkidle');
    expect([...origins]).toEqual([h.url]);
    // Every byte the page loaded (its files and the API's answers), as the browser decoded them.
    const bytes = await page.evaluate(() =>
      performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).reduce((n, e) => n + (e as PerformanceResourceTiming).decodedBodySize, 0),
    );
    expect(bytes).toBeGreaterThan(10_000);
    expect(bytes).toBeLessThan(PAGE_BYTES_LIMIT);

    // The page's files hold no data and need no key; the API behind them does.
    const shell = await api().get('/ui/').expect(200);
    expect(shell.headers['content-type']).toMatch(/text\/html/);
    expect(shell.headers['content-security-policy']).toContain("default-src 'self'");
    await api().get('/ui').expect(301).expect('location', '/ui/');
    await api().get('/v1/runs').expect(401);
    // Only the page's files are served: not the rest of the package, nor uPlot's other builds.
    for (const path of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/..%2fpackage.json']) {
      const res = await api().get(path);
      expect([403, 404], path).toContain(res.status);
      expect(res.text).not.toContain('"dependencies"');
    }
    await api().get('/ui/vendor/uPlot.cjs.js').expect(404);
  });

  it("shows a run's records as they are committed, then its final progress, charts and report", async () => {
    await withKey();
    await page.addInitScript(watchFirstRecord);
    // Answers take 0.4–2.5 s, so the run is still going when its first records come.
    h.fake.configure({ latencyMs: [400, 2500] });
    const run = (await api().post('/v1/generate').set(auth).send({ documents: [markdownDoc('live.md', 4)], n_pairs: 2 }).expect(202)).body.run;
    await page.goto(`${h.url}/ui/#/runs/${run.id}`);
    await page.locator('.head h1 [data-status="succeeded"]').waitFor({ timeout: 30_000 });

    const first = await page.evaluate(() => window.__firstRecord);
    expect(first?.status).toMatch(/^(queued|running)$/);
    const keys = await page.locator('#live-records li').evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
    const { body } = await api().get(`/v1/datasets/${run.output.dataset_id}/records`).set(auth).expect(200);
    expect(new Set(keys)).toEqual(new Set(body.records.map((r: { key: string }) => r.key)));
    expect(keys).toHaveLength(8);
    await expect.poll(() => page.locator('[data-stat="records"] .value').textContent()).toBe('8');
    expect(await page.locator('[data-stat="tasks"] .value').textContent()).toBe('4 / 4');
    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(3);
    await page.locator('#report [data-part="tasks"] [data-key="succeeded"]').waitFor();
    expect(await page.locator('#stream-state').textContent()).toBe('ended');

    // A record opens as a conversation: the question as the user's turn, the answer as the assistant's.
    await page.locator('#live-records li summary').first().click();
    const roles = await page.locator('#live-records li .turn').evaluateAll((els) => els.map((e) => e.getAttribute('data-role')));
    expect(roles.slice(0, 2)).toEqual(['user', 'assistant']);
  });

  it('shows failures by category with an example, and the failed run with its error', async () => {
    await withKey();
    h.fake.configure({ faults: [{ kind: 'malformed', match: 'fact2_' }] });
    const run = (await api().post('/v1/generate').set(auth).send({ documents: [markdownDoc('fail.md', 3)], n_pairs: 1, max_attempts: 1 }).expect(202)).body.run;
    await page.goto(`${h.url}/ui/#/runs/${run.id}`);
    await page.locator('.head h1 [data-status="failed"]').waitFor({ timeout: 30_000 });
    const failure = page.locator('#failures [data-category="json"]');
    await failure.waitFor();
    expect(await failure.textContent()).toMatch(/json × 1/);
    expect(await failure.locator('li').count()).toBe(1);
    expect(await page.locator('.head .error').textContent()).toMatch(/\S/);
    expect(await page.locator('#retry').count()).toBe(1);
  });

  it('shows a pipeline as stage boxes and the curate stage report with its rating histogram', async () => {
    await withKey();
    const spec = { generate: { documents: [markdownDoc('pipe.md', 2)], n_pairs: 2 }, curate: { threshold: 0, batch_size: 4 } };
    const run = (await api().post('/v1/pipelines').set(auth).send(spec).set('Prefer', 'wait=30').expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    await page.goto(`${h.url}/ui/#/runs/${run.id}`);
    const boxes = page.locator('#stages [data-stage]');
    await expect.poll(() => boxes.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-stage')}:${e.className}`))).toEqual([
      'generate:stage succeeded',
      'curate:stage succeeded',
    ]);
    await page.locator('#stages [data-stage="curate"] a').click();
    const histogram = page.locator('#report [data-part="rating-histogram"] .bar-row');
    await expect.poll(() => histogram.count()).toBe(11);
    const counts = await histogram.locator('.bar-count').allTextContents();
    expect(counts.map(Number).reduce((a, b) => a + b, 0)).toBe(4);
  });

  it("shows a compare run's decision with its reasons", async () => {
    await withKey();
    const pairs = (n: number, long: boolean) => Array.from({ length: n }, (_, i) => ({
      question: `How does part ${i} of the lease work?`,
      answer: long ? `Part ${i} grants the worker a time-limited claim that it renews by heartbeat, and the queue takes it back when the heartbeat stops.` : `Part ${i}.`,
      source: `doc-${i % 4}.md`,
    }));
    const good = (await api().post('/v1/datasets?name=good').set(auth).send(pairs(12, true)).expect(201)).body.dataset.id;
    const thin = (await api().post('/v1/datasets?name=thin').set(auth).send(pairs(12, false)).expect(201)).body.dataset.id;
    const run = (await api().post('/v1/compare').set(auth).set('Prefer', 'wait=60').send({ dataset_ids: [good, thin], judge: false }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    await page.goto(`${h.url}/ui/#/runs/${run.id}`);
    const decision = page.locator('#report [data-part="decision"]');
    await decision.waitFor();
    expect(await decision.locator('.winner').textContent()).toBe(run.output.report.decision.winner);
    expect(await decision.locator('li').count()).toBe(run.output.report.metric_reasons.length);
  });

  it('browses a dataset page by page and shows a conversation as a conversation, markup as text', async () => {
    await withKey();
    const hostile = '<img src=x onerror="window.__pwned=true">';
    const conversation = {
      messages: [
        { role: 'system', content: 'You are a weather assistant.' },
        { role: 'user', content: `Weather in Paris? ${hostile}` },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', content: '{"temp_c":18}', tool_call_id: 'c1' },
        { role: 'assistant', content: 'It is 18 °C in Paris.' },
      ],
    };
    const rows = [conversation, ...Array.from({ length: 29 }, (_, i) => ({ question: `Question ${i}?`, answer: `Answer ${i}.` }))];
    const jsonl = rows.map((r) => JSON.stringify(r)).join('\n');
    const dataset = (await api().post('/v1/datasets?name=browse').set(auth).set('content-type', 'application/x-ndjson').send(jsonl).expect(201)).body.dataset;

    await page.goto(`${h.url}/ui/#/datasets`);
    await page.locator(`#datasets [data-dataset="${dataset.id}"] a`).first().click();
    const items = page.locator('#dataset-records > li');
    await expect.poll(() => items.count()).toBe(25);
    const firstPage = await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));

    await items.first().locator('summary').click();
    const turns = items.first().locator('.turn');
    expect(await turns.evaluateAll((els) => els.map((e) => e.getAttribute('data-role')))).toEqual(['system', 'user', 'assistant', 'tool', 'assistant']);
    expect(await turns.nth(1).textContent()).toContain(hostile);
    expect(await items.first().locator('.tool-call').textContent()).toBe('get_weather({"city":"Paris"})');
    expect(await page.locator('.conversation img').count()).toBe(0);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();

    await page.click('#next-page');
    await expect.poll(() => items.count()).toBe(5);
    const secondPage = await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
    expect(new Set([...firstPage, ...secondPage]).size).toBe(30);
    await page.click('text=← previous');
    await expect.poll(() => items.evaluateAll((els) => els.map((e) => e.getAttribute('data-key')))).toEqual(firstPage);
  });
});

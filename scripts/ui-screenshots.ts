/**
 * Takes the README's screenshots of /ui against a running Quarry (`npm run demo` is enough):
 *   npx tsx scripts/ui-screenshots.ts [http://127.0.0.1:3000]
 * Needs a Chromium (apt-get install chromium, or CHROMIUM_PATH). Writes docs/ui-*.png.
 */
import { launchBrowser } from '../tests/support/browser.js';

const base = process.argv[2] ?? process.env.QUARRY_URL ?? 'http://127.0.0.1:3000';
const key = process.env.QUARRY_API_KEY;
const headers = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };

const doc = {
  name: 'leases.md',
  text: ['Leases', 'Renewal', 'Deposits', 'Repairs', 'Notice'].map((t) => `## ${t}\n\n${`The ${t.toLowerCase()} clause says what tenant and landlord owe each other. `.repeat(8)}`).join('\n\n'),
};

async function post(path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { run: { id: string; output: { dataset_id?: string } } }).run;
}

const run = await post('/v1/pipelines', { generate: { documents: [doc], n_pairs: 4, cache: 'off' }, curate: { threshold: 5, batch_size: 5, cache: 'off' } });
const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
if (key) await page.addInitScript((k) => localStorage.setItem('quarry.apiKey', k), key);
await page.goto(`${base}/ui/#/runs/${run.id}`);
await page.locator('.head h1 [data-status="succeeded"]').waitFor({ timeout: 120_000 });
await page.screenshot({ path: 'docs/ui-pipeline.png' });
await page.locator('#stages [data-stage="curate"] a').click();
await page.locator('#report [data-part="rating-histogram"]').waitFor();
await page.locator('#live-records li summary').first().click();
await page.screenshot({ path: 'docs/ui-curate.png', fullPage: true });
await page.goto(`${base}/ui/#/runs`);
await page.locator('#runs tbody tr').first().waitFor();
await page.screenshot({ path: 'docs/ui-runs.png' });
await browser.close();
console.log(`wrote docs/ui-pipeline.png, docs/ui-curate.png, docs/ui-runs.png (run ${run.id})`);

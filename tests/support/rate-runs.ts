import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import type { FakeLlm } from '../../src/fake-llm/server.js';

/** A PROVIDERS_FILE naming `limited` (rpm configured) and `learned` (no limits) on the fake's OpenAI endpoint, and `claude` (rpm) on its Anthropic one. */
export function rateProvidersFile(fake: FakeLlm, rps: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'quarry-rate-'));
  const file = join(dir, 'providers.yaml');
  const entry = (name: string, kind: string, url: string, extra: string[]) => [`  ${name}:`, `    kind: ${kind}`, `    base_url: ${url}`, '    model: gpt-4o-mini', '    max_concurrency: 8', ...extra.map((l) => `    ${l}`)];
  writeFileSync(
    file,
    ['providers:', ...entry('limited', 'openai', fake.openaiBaseUrl, [`rpm: ${rps * 60}`]), ...entry('learned', 'openai', fake.openaiBaseUrl, []), ...entry('claude', 'anthropic', fake.anthropicBaseUrl, [`rpm: ${rps * 60}`])].join('\n'),
  );
  return file;
}

/** `n` sections of one chunk each, so one teacher call per section with n_pairs 1; `tag` keeps texts apart between cases. */
export const sectionsDoc = (tag: string, n: number) => ({
  name: `${tag}.md`,
  text: Array.from({ length: n }, (_, i) => `## ${tag} ${i}\n\n` + Array.from({ length: 40 }, (_, w) => `${tag}${i}_${w}`).join(' ') + '. The end of this section.\n').join('\n'),
});

/** Starts a generate run and polls it until it ends (no Prefer: wait, whose bound is shorter than these runs). */
export async function runToEnd(url: string, body: Record<string, unknown>, timeoutMs = 90_000) {
  const run = (await request(url).post('/v1/generate').send(body).expect(202)).body.run;
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = (await request(url).get(`/v1/runs/${run.id}`).expect(200)).body.run;
    if (['succeeded', 'failed', 'canceled'].includes(got.status)) return got;
    if (Date.now() > until) throw new Error(`run ${run.id} still ${got.status} after ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** Answered completions per second at the fake, between the first and the last answered request on `path`. */
export function achievedRate(fake: FakeLlm, path = '/v1/chat/completions'): { answered: number; perSecond: number } {
  const times = fake
    .requests()
    .filter((r) => r.path === path && r.response !== undefined)
    .map((r) => r.at)
    .sort((a, b) => a - b);
  const span = (times.at(-1)! - times[0]) / 1000;
  return { answered: times.length, perSecond: (times.length - 1) / span };
}

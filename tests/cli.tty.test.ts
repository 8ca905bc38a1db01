import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';

describe.each(DATABASES)('quarry --follow on a terminal (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 150 } });
  });
  afterAll(async () => h?.close());

  it('redraws one line in place instead of printing a line per update', async () => {
    const spec = join(mkdtempSync(join(tmpdir(), 'quarry-cli-tty-')), 'gen.json');
    writeFileSync(spec, JSON.stringify({ documents: [markdownDoc('tty.md', 6, 40)], n_pairs: 1 }));
    let err = '';
    let out = '';
    const code = await main(['generate', spec, '--follow'], { QUARRY_URL: h.url }, {
      out: (t) => (out += t),
      err: (t) => (err += t),
      follow: { tty: true, printEveryMs: 0, pollMs: 50 },
    });
    expect(code, err).toBe(0);
    const draws = err.split('\r').slice(1);
    // Several redraws, each clearing the line, and only the final one ends with a newline.
    expect(draws.length).toBeGreaterThanOrEqual(3);
    for (const draw of draws) expect(draw.startsWith('\x1b[2K')).toBe(true);
    expect(draws.slice(0, -1).every((d) => !d.includes('\n'))).toBe(true);
    expect(draws.at(-1)).toMatch(/^\x1b\[2K\[#{20}\] 100% run_\w+ generate succeeded \| tasks 6\/6 \| records 6 .*\n$/);
    expect(out.trim()).toMatch(/^run_[0-9a-f]{24}$/);
  });
});

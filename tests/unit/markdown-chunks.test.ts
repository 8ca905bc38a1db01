import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toBlocks } from '../../services/generate/markdown-blocks.js';
import { splitMarkdown, type Chunk } from '../../services/generate/markdown-loader.js';
import { openFence } from '../support/markdown-fences.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/markdown');
const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.md') && f !== 'README.md');
const OPTIONS = [
  { minChunkSize: 200, maxChunkSize: 2000, overlap: 100 },
  { minChunkSize: 200, maxChunkSize: 600, overlap: 80 },
  { minChunkSize: 100, maxChunkSize: 400, overlap: 60 },
];

/** Parts of one cut section, in order: [chunk before, chunk after]. */
const partPairs = (chunks: Chunk[]) =>
  chunks.flatMap((c, i) => {
    const next = chunks[i + 1];
    const base = (id: string) => id.replace(/_part\d+$/, '');
    return next && c.method === 'size' && next.method === 'size' && base(c.chunk_id) === base(next.chunk_id) ? [[c, next] as const] : [];
  });

describe.each(fixtures)('real markdown: %s', (file) => {
  const text = readFileSync(join(FIXTURES, file), 'utf8');
  // The document as the chunker reads it: markup-only blocks left out, everything else as written.
  const assembled = toBlocks(text).text;

  it.each(OPTIONS)('gives chunks a user would accept (min $minChunkSize, max $maxChunkSize, overlap $overlap)', (opts) => {
    const chunks = splitMarkdown({ name: file, text }, opts);
    expect(chunks.length).toBeGreaterThan(1);
    // No chunk under min_chunk_size: the document is longer than that.
    expect(text.length).toBeGreaterThan(opts.minChunkSize);
    expect(chunks.filter((c) => c.content.length < opts.minChunkSize).map((c) => c.chunk_id)).toEqual([]);
    for (const c of chunks) {
      // No fence is split: every chunk closes each fenced block it opens.
      expect(openFence(c.content), c.chunk_id).toBe(false);
      // Longer than max only where a fenced block had to stay whole.
      if (c.content.length > opts.maxChunkSize) expect(c.content, c.chunk_id).toMatch(/^```/m);
      // Image-only and badge rows are no chunk and no part of one.
      expect(c.content).not.toMatch(/^\s*!\[[^\]]*\]\([^)]*\)\s*$/m);
      expect(c.content.trim()).not.toMatch(/^(\[?!\[[^\]]*\]\([^)]*\)\]?(\([^)]*\))?\s*)+$/);
      expect(assembled).toContain(c.content);
    }
    // Overlaps start at a word: the character before a later part is whitespace, and parts share at most `overlap` characters.
    let at = 0;
    for (const [a, b] of partPairs(chunks)) {
      const aAt = assembled.indexOf(a.content, at);
      const bAt = assembled.indexOf(b.content, aAt + 1);
      expect(bAt, b.chunk_id).toBeGreaterThan(aAt);
      expect(assembled[bAt - 1], b.chunk_id).toMatch(/\s/);
      expect(aAt + a.content.length - bAt, b.chunk_id).toBeLessThanOrEqual(opts.overlap);
      at = aAt;
    }
  });
});

describe('markdown chunking: what the issue asked for', () => {
  const words = (n: number, tag = 'w') => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ') + '.';

  it('merges short sections with their neighbours under the same parent header, not across a higher one', () => {
    const doc = [
      '# Conference',
      words(40, 'intro'),
      '## Schedule',
      '### Monday',
      'Keynote at 9.',
      '### Tuesday',
      'Workshops at 10.',
      '### Wednesday',
      'Closing at 4.',
      '## Venue',
      words(60, 'venue'),
      '# Sponsors',
      words(60, 'sponsor'),
    ].join('\n\n');
    const chunks = splitMarkdown({ name: 'conf.md', text: doc });
    // The one-line schedule entries are one chunk under "Schedule", not three chunks of a line each.
    const schedule = chunks.find((c) => c.content.includes('Keynote'))!;
    expect(schedule.content).toContain('Workshops at 10.');
    expect(schedule.content).toContain('Closing at 4.');
    expect(schedule.section_path.slice(0, 2)).toEqual(['Conference', 'Schedule'].slice(0, schedule.section_path.length));
    expect(chunks.every((c) => c.content.length >= 200)).toBe(true);
    expect(chunks.find((c) => c.content.includes('sponsor0'))!.content).not.toContain('venue0');
  });

  it('keeps a YAML block longer than max_chunk_size whole, fenced, in one chunk', () => {
    const yaml = Array.from({ length: 120 }, (_, i) => `key_${i}: value ${i}\n\n# comment ${i}`).join('\n');
    const doc = `# Config\n\n${words(50)}\n\n\`\`\`yaml\n${yaml}\n\`\`\`\n\n${words(50, 'after')}`;
    const chunks = splitMarkdown({ name: 'config.md', text: doc }, { minChunkSize: 200, maxChunkSize: 1000, overlap: 100 });
    const holding = chunks.filter((c) => c.content.includes('key_'));
    expect(holding).toHaveLength(1);
    expect(holding[0].content).toContain(`\`\`\`yaml\n${yaml}\n\`\`\``);
    expect(chunks.every((c) => !openFence(c.content))).toBe(true);
    // No overlap reaches into the block: the chunk after it starts after the closing fence.
    const after = chunks[chunks.indexOf(holding[0]) + 1];
    expect(after.content.startsWith('after0')).toBe(true);
  });

  it('leaves out badge rows, image rows, HTML layout, link definitions and front matter', () => {
    const doc = [
      '---\ntitle: Project\ntags: [a, b]\n---',
      '<p align="center"><img src="logo.png" width="200"></p>',
      '[![CI](https://ci.example/badge.svg)](https://ci.example) [![npm](https://img.shields.io/npm/v/x.svg)](https://npm.im/x)',
      '# Project',
      words(60),
      '![diagram](docs/diagram.png)',
      '<!-- toc -->',
      '[ref]: https://example.com',
      '## Usage',
      words(60, 'use'),
    ].join('\n\n');
    const chunks = splitMarkdown({ name: 'README.md', text: doc });
    const all = chunks.map((c) => c.content).join('\n');
    for (const gone of ['title: Project', 'logo.png', 'badge.svg', 'shields.io', 'diagram.png', 'toc', 'https://example.com']) expect(all).not.toContain(gone);
    expect(chunks[0].content.startsWith('# Project')).toBe(true);
    expect(all).toContain('w0 w1');
    expect(all).toContain('use0');
    // A document of nothing but markup has no chunks at all.
    expect(splitMarkdown({ name: 'badges.md', text: '[![a](b.svg)](c)\n\n<img src="x.png">' })).toEqual([]);
  });

  it('keeps a fence inside a list item whole, and text that only looks like markup', () => {
    const code = Array.from({ length: 30 }, (_, i) => `    step_${i}()`).join('\n\n');
    const doc = `# Steps\n\n- First do this, then run:\n\n  \`\`\`python\n${code}\n  \`\`\`\n- Then ${words(30)}\n\n<div>Plain words in a div.</div>`;
    const chunks = splitMarkdown({ name: 'steps.md', text: doc }, { minChunkSize: 100, maxChunkSize: 400, overlap: 40 });
    expect(chunks.every((c) => !openFence(c.content))).toBe(true);
    expect(chunks.filter((c) => c.content.includes('step_0()'))[0].content).toContain('step_29()');
    expect(chunks.some((c) => c.content.includes('Plain words in a div.'))).toBe(true);
  });

  it('honours header_levels', () => {
    const doc = `# A\n\n${words(60, 'a')}\n\n## B\n\n${words(60, 'b')}\n\n### C\n\n${words(60, 'c')}`;
    expect(splitMarkdown({ name: 'x.md', text: doc }).map((c) => c.header)).toEqual(['A', 'B', 'C']);
    expect(splitMarkdown({ name: 'x.md', text: doc }, { headerLevels: [1, 2] }).map((c) => c.header)).toEqual(['A', 'B']);
    expect(splitMarkdown({ name: 'x.md', text: doc }, { headerLevels: [1] }).map((c) => c.header)).toEqual(['A']);
  });

  it('reads hostile documents in bounded time: deep nesting, a 10 MB paragraph, a long unbroken line', () => {
    const started = performance.now();
    const nested = Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i * 2)}- item ${i}`).join('\n');
    const quotes = `${'> '.repeat(10_000)}deep`;
    const paragraph = 'word '.repeat(2_000_000);
    const blob = 'x'.repeat(200_000);
    for (const text of [nested, quotes, paragraph, blob]) {
      const chunks = splitMarkdown({ name: 'hostile.md', text });
      expect(chunks.length).toBeGreaterThan(0);
      expect(chunks.map((c) => c.content.replace(/\s+/g, '')).join('').length).toBeGreaterThanOrEqual(text.replace(/\s+/g, '').length);
    }
    expect(performance.now() - started).toBeLessThan(20_000);
  }, 30_000);
});

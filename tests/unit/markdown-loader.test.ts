import { describe, it, expect } from 'vitest';
import { DEFAULT_CHUNK_OPTIONS, fileStem, slugify, splitMarkdown, type Chunk } from '../../services/generate/markdown-loader.js';
import { openFence } from '../support/markdown-fences.js';

const sentence = (i: number) => `Sentence number ${i} talks about topic ${i % 7} in some detail.`;
const paragraph = (p: number, n = 3) => Array.from({ length: n }, (_, i) => sentence(p * 10 + i)).join(' ');
const split = (text: string, opts = {}, name = 'docs/guide.md') => splitMarkdown({ name, text }, opts);

describe('splitMarkdown: headers', () => {
  const text = ['# Install', 'Intro to install.', '## Linux', 'apt stuff.', '### Debian', 'deb stuff.',
    '## macOS', 'brew stuff.', '# Usage', 'run it.'].join('\n');

  it('splits on H1-H3 and records the section path (sections above min_chunk_size stay apart)', () => {
    const chunks = split(text, { minChunkSize: 1, overlap: 0 });
    expect(chunks.map((c) => c.header)).toEqual(['Install', 'Linux', 'Debian', 'macOS', 'Usage']);
    expect(chunks.map((c) => c.section_path)).toEqual([
      ['Install'], ['Install', 'Linux'], ['Install', 'Linux', 'Debian'], ['Install', 'macOS'], ['Usage'],
    ]);
    expect(chunks.map((c) => c.chunk_id)).toEqual(['guide_install', 'guide_linux', 'guide_debian', 'guide_macos', 'guide_usage']);
    expect(chunks.map((c) => c.index)).toEqual([0, 1, 2, 3, 4]);
    expect(chunks[1].content).toBe('## Linux\napt stuff.');
    expect(chunks.every((c) => c.method === 'header' && c.source === 'docs/guide.md')).toBe(true);
  });

  it('keeps H4 and deeper in the body, and honours headerLevels', () => {
    const chunks = split('## A\ntext\n#### Deep\nmore\n##### Deeper\nx', { minChunkSize: 1, overlap: 0 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0].content).toContain('#### Deep\nmore');
    expect(split('# A\na\n## B\nb', { headerLevels: [1], minChunkSize: 1, overlap: 0 }).map((c) => c.header)).toEqual(['A']);
    expect(split('# A\na\n## B\nb', { headerLevels: [2], minChunkSize: 1, overlap: 0 }).map((c) => c.header)).toEqual(['Introduction', 'B']);
  });

  it('ignores headers inside ``` and ~~~ fences, including an unclosed one', () => {
    const chunks = split('# A\n```bash\n# not a header\n```\n~~~\n## also not\n~~~\n# B\nx\n````\n```\n# inner\n```\n````\n# C\ny\n```\n# swallowed', { minChunkSize: 1, overlap: 0 });
    expect(chunks.map((c) => c.header)).toEqual(['A', 'B', 'C']);
    expect(chunks[0].content).toContain('# not a header');
    expect(chunks[1].content).toContain('# inner');
    expect(chunks[2].content.endsWith('# swallowed')).toBe(true);
  });

  it('requires a space after the #s and strips closing #s', () => {
    expect(split('#hashtag\ntext').map((c) => c.header)).toEqual(['']);
    expect(split('# Title ##\nbody')[0].header).toBe('Title');
    // The parser's headers: setext ones count, and a title is the text a reader sees.
    expect(split('Install\n=======\n\nbody\n\nUse **it** [now](http://x)\n---\n\nmore', { minChunkSize: 1, overlap: 0 }).map((c) => c.header)).toEqual(['Install', 'Use it now']);
  });

  it('puts text before the first header in an Introduction section, only if non-blank', () => {
    const chunks = split('Some preface.\n\n# A\nbody', { minChunkSize: 1, overlap: 0 });
    expect(chunks[0]).toMatchObject({ header: 'Introduction', section_path: [], chunk_id: 'guide_introduction', content: 'Some preface.' });
    expect(split('  \n\n# A\nbody', { minChunkSize: 1, overlap: 0 }).map((c) => c.header)).toEqual(['A']);
  });

  it('merges header-only sections into the next one; a trailing one joins the one before', () => {
    const [only] = split('# Title\n## Sub\ntext', { minChunkSize: 1, overlap: 0 });
    expect(only).toMatchObject({ content: '# Title\n## Sub\ntext', header: 'Title', section_path: ['Title'] });
    expect(split('# A\nbody\n\n# End\n\n', { minChunkSize: 1, overlap: 0 }).map((c) => c.content)).toEqual(['# A\nbody\n\n# End']);
  });

  it('makes chunk ids unique for repeated headers, also when split', () => {
    const long = paragraph(1, 8);
    const ids = split(`# FAQ\n${paragraph(7)}\n# FAQ\n${long}\n# FAQ\n${paragraph(8)}`, { minChunkSize: 50, maxChunkSize: 200, overlap: 10 }).map((c) => c.chunk_id);
    expect(ids[0]).toBe('guide_faq');
    expect(ids[1]).toBe('guide_faq_2_part1');
    expect(ids.at(-1)).toBe('guide_faq_3');
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('splitMarkdown: size splitting', () => {
  const opts = { minChunkSize: 100, maxChunkSize: 400, overlap: 30 };
  const text = `# Long\n\n${Array.from({ length: 10 }, (_, p) => paragraph(p)).join('\n\n')}`;
  const chunks = split(text, opts);

  it('keeps pieces within bounds, labelled as size parts of one section', () => {
    expect(chunks.length).toBeGreaterThan(4);
    chunks.forEach((c, i) => {
      expect(c.content.length).toBeLessThanOrEqual(opts.maxChunkSize);
      if (i < chunks.length - 1) expect(c.content.length).toBeGreaterThanOrEqual(opts.minChunkSize);
      expect(c).toMatchObject({ method: 'size', header: 'Long', section_path: ['Long'], chunk_id: `guide_long_part${i + 1}` });
    });
  });

  it('breaks on paragraph boundaries when available', () => {
    for (const c of chunks.slice(0, -1)) expect(text).toContain(`${c.content}\n\n`);
  });

  it('overlaps consecutive pieces by at most `overlap` characters, starting at a word', () => expectOverlap(text, chunks, opts.overlap));

  it('falls back to sentence ends, then whitespace, then a hard cut', () => {
    const o = { minChunkSize: 50, maxChunkSize: 150, overlap: 20 };
    const prose = paragraph(3, 12);
    const bySentence = split(prose, o);
    for (const c of bySentence.slice(0, -1)) expect(c.content.endsWith('.')).toBe(true);
    expectOverlap(prose, bySentence, o.overlap);

    const words = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
    const byWord = split(words, o);
    for (const c of byWord.slice(0, -1)) expect(words).toContain(`${c.content} `);
    expectOverlap(words, byWord, o.overlap);

    // No space to break at or to start an overlap at: hard cuts, and no overlap rather than half a word.
    const blob = 'abcdefghij'.repeat(50);
    const hard = split(blob, o).map((c) => c.content);
    expect(hard.slice(0, -1).every((c) => c.length === o.maxChunkSize)).toBe(true);
    expect(hard.join('')).toBe(blob);
  });

  it('resumes after a whitespace run too wide to break in, instead of repeating tiny pieces', () => {
    const doc = `${'x '.repeat(10)}${' '.repeat(500)}${'y '.repeat(300)}`;
    const parts = split(doc, { minChunkSize: 100, maxChunkSize: 200, overlap: 10 }).map((c) => c.content);
    expect(parts[0]).toBe('x '.repeat(10).trim());
    expect(parts[1].startsWith('y y')).toBe(true);
    expect(parts.slice(1, -1).every((c) => c.length >= 100)).toBe(true);
  });

  it('never cuts inside a fenced code block; one longer than max_chunk_size is its own chunk, still fenced', () => {
    const prose = paragraph(1);
    const code = Array.from({ length: 8 }, (_, i) => `line_${i} = compute(${i})  # step ${i}`).join('\n\n');
    const doc = `# Code\n\n${prose}\n\n\`\`\`python\n${code}\n\`\`\`\n\nAfter the block. ${paragraph(2)}`;
    const parts = split(doc, { minChunkSize: 50, maxChunkSize: 400, overlap: 20 }).map((c) => c.content);
    expect(parts[0]).toBe(`# Code\n\n${prose}`);
    expect(parts[1]).toContain(`\`\`\`python\n${code}\n\`\`\``);
    expect(parts[1].endsWith('\n```')).toBe(true); // right after the closing fence is outside the block
    // A block longer than max_chunk_size stays whole, with its header, and the prose after it is a chunk of its own.
    const block = `\`\`\`yaml\n${code}\n${code}\n\`\`\``;
    const big = split(`# Big\n\n${block}\n\n${paragraph(4)}`, { minChunkSize: 50, maxChunkSize: 200, overlap: 10 }).map((c) => c.content);
    expect(big[0]).toBe(`# Big\n\n${block}`);
    expect(big.slice(1).every((c) => !c.includes('```') && c.length <= 200)).toBe(true);
  });
});

describe('splitMarkdown: documents without headers, CRLF, options', () => {
  it('chunks a header-less document as one section', () => {
    expect(split('Just a note.', {}, 'notes.txt')).toEqual([
      { chunk_id: 'notes', content: 'Just a note.', source: 'notes.txt', header: '', section_path: [], method: 'header', index: 0 },
    ]);
    const long = split(paragraph(1, 20), { minChunkSize: 100, maxChunkSize: 300, overlap: 20 }, 'notes.md');
    expect(long.map((c) => c.chunk_id)).toEqual(long.map((_, i) => `notes_part${i + 1}`));
    expect(long.every((c) => c.method === 'size' && c.header === '')).toBe(true);
    expect(split('#### only deep\ntext', {}, 'n.md')[0]).toMatchObject({ chunk_id: 'n', header: '' });
    expect(split('', {})).toEqual([]);
    expect(split(' \n\t\n ', {})).toEqual([]);
  });

  it('treats CRLF like LF', () => {
    const lf = `Preface.\n\n# A\n${paragraph(1, 6)}\n\n${paragraph(2, 6)}\n## B\n\`\`\`\n# x\n\`\`\`\n`;
    const o = { minChunkSize: 50, maxChunkSize: 200, overlap: 10 };
    const crlf = split(lf.replace(/\n/g, '\r\n'), o);
    expect(crlf).toEqual(split(lf, o));
    expect(crlf.some((c) => c.content.includes('\r'))).toBe(false);
  });

  it('validates options with a RangeError naming the option', () => {
    expect(() => split('x', { minChunkSize: 0 })).toThrow(RangeError);
    expect(() => split('x', { minChunkSize: 0 })).toThrow(/minChunkSize/);
    expect(() => split('x', { minChunkSize: 100, maxChunkSize: 100 })).toThrow(/maxChunkSize/);
    expect(() => split('x', { overlap: -1 })).toThrow(/overlap/);
    expect(() => split('x', { minChunkSize: 50, overlap: 50 })).toThrow(/overlap/);
    expect(() => split('x', { maxChunkSize: Number.NaN })).toThrow(/maxChunkSize/);
    expect(() => split('x', { headerLevels: [0] })).toThrow(/headerLevels/);
    expect(DEFAULT_CHUNK_OPTIONS).toEqual({ minChunkSize: 200, maxChunkSize: 2000, overlap: 100, headerLevels: [1, 2, 3] });
    expect(() => split('x', { minChunkSize: undefined })).not.toThrow();
  });

  it('derives file stems and slugs', () => {
    expect(['docs/guide.md', 'C:\\x\\y.markdown', 'README', 'a.b.md', '.notes'].map(fileStem)).toEqual(['guide', 'y', 'README', 'a.b', '.notes']);
    expect(slugify('Hello, World!')).toBe('hello-world');
    expect(slugify('Café  --  Über')).toBe('cafe-uber');
    expect(slugify('日本語')).toBe('section');
    const long = slugify('word '.repeat(30));
    expect(long.length).toBeLessThanOrEqual(60);
    expect(long.endsWith('-')).toBe(false);
  });
});

/** Parts of one section after the first start at a word, share at most `overlap` characters with the part before, and tile the text in order. */
function expectOverlap(text: string, chunks: Chunk[], overlap: number) {
  let at = 0;
  for (let i = 1; i < chunks.length; i++) {
    const a = chunks[i - 1].content, b = chunks[i].content;
    const aAt = text.indexOf(a, at);
    const bAt = text.indexOf(b, aAt + 1);
    expect(bAt).toBeGreaterThan(aAt);
    expect(/\s/.test(text[bAt - 1])).toBe(true);
    expect(aAt + a.length - bAt).toBeLessThanOrEqual(overlap);
    at = aAt;
  }
}

const fenced = (text: string) => /^[ \t>]*(`{3,}|~{3,})/m.test(text);

function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('splitMarkdown: property test', () => {
  it('never loses text, never exceeds max, never repeats an id', () => {
    const rnd = mulberry32(20240607);
    const int = (n: number) => Math.floor(rnd() * n);
    const pick = <T,>(xs: T[]) => xs[int(xs.length)];
    let token = 0;
    const word = () => `w${token++}${'xyz'.slice(0, int(4))}`;
    const sentence = () => Array.from({ length: 2 + int(12) }, word).join(' ') + pick(['.', '!', '?', '', ',']);
    const blob = () => Array.from({ length: 20 + int(300) }, () => String.fromCharCode(97 + int(26))).join('');
    const blocks: Array<() => string> = [
      () => `${'#'.repeat(1 + int(5))} ${pick(['Setup', 'FAQ', 'Setup', 'Café ünïcode', 'x'.repeat(70), '日本'])}`,
      () => Array.from({ length: 1 + int(8) }, sentence).join(pick([' ', '\n'])),
      () => `${pick(['```', '~~~', '````'])}js\n# fake ${word()}\n${sentence()}\n\n${sentence()}${int(5) ? `\n${pick(['```', '~~~', '````'])}` : ''}`,
      () => blob(),
      () => `   ${sentence()}  `,
      () => `- ${sentence()}\n- ${sentence()}\n  \`\`\`\n  ${sentence()}\n\n  ${sentence()}\n  \`\`\``,
    ];
    for (let n = 0; n < 300; n++) {
      const minChunkSize = 20 + int(80);
      const opts = { minChunkSize, maxChunkSize: minChunkSize + 1 + int(400), overlap: int(minChunkSize), headerLevels: int(4) ? [1, 2, 3] : [2] };
      let doc = Array.from({ length: int(25) }, () => pick(blocks)()).join(pick(['\n', '\n\n', '\n\n\n']));
      if (int(3) === 0) doc = doc.replace(/\n/g, '\r\n');
      const chunks = splitMarkdown({ name: `dir/doc${n}.md`, text: doc }, opts);
      const normalized = doc.replace(/\r\n/g, '\n');

      expect(new Set(chunks.map((c) => c.chunk_id)).size).toBe(chunks.length);
      chunks.forEach((c, i) => {
        expect(c.index).toBe(i);
        expect(c.content.length).toBeGreaterThan(0);
        expect(c.content).toBe(c.content.trim());
        // Longer than max only to keep a fenced block whole (or not to leave a scrap under min after it).
        if (!fenced(c.content)) expect(c.content.length).toBeLessThan(opts.maxChunkSize + opts.minChunkSize);
        expect(normalized).toContain(c.content);
        // A fence the document never closes runs to its end; any other fence closes in the chunk that opens it.
        if (!openFence(normalized) || c !== chunks.at(-1)) expect(openFence(c.content)).toBe(false);
        expect(c.method === 'size').toBe(/_part\d+$/.test(c.chunk_id));
      });
      // Walk the chunks in order over the whitespace-free input: each must start within what is
      // already covered (overlap or adjacency), and together they must reach the end.
      const strip = (s: string) => s.replace(/\s+/g, '');
      const all = strip(doc);
      let covered = 0, prev = 0;
      for (const c of chunks) {
        const s = strip(c.content);
        const at = all.lastIndexOf(s, covered);
        expect(at).toBeGreaterThanOrEqual(prev);
        covered = Math.max(covered, at + s.length);
        prev = at;
      }
      expect(covered).toBe(all.length);
      // Nothing under min_chunk_size unless the whole document is (where max leaves room for two pieces of min and an overlap).
      if (strip(doc).length >= opts.minChunkSize && opts.maxChunkSize >= 3 * opts.minChunkSize) expect(chunks.filter((c) => c.content.length < opts.minChunkSize).map((c) => c.content)).toEqual([]);
    }
  });
});

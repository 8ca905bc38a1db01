/**
 * Markdown → chunks for QA-pair generation. Modelled on Fair-Forge's LocalMarkdownLoader,
 * but fence-aware, CRLF-safe, with real overlap and ids that stay unique.
 */

export interface MarkdownDocument { name: string; text: string }
export interface ChunkOptions { minChunkSize: number; maxChunkSize: number; overlap: number; headerLevels?: number[] }
export interface Chunk {
  chunk_id: string;
  content: string;
  source: string;
  header: string;
  section_path: string[];
  /**
   * 'size' exactly when a section (or a header-less document) had to be cut into parts,
   * which is also exactly when chunk_id carries `_partN`. A header-less document that fits
   * in one piece is therefore a single 'header' chunk: one whole section, never cut.
   */
  method: 'header' | 'size';
  index: number;
}

export const DEFAULT_CHUNK_OPTIONS: Required<ChunkOptions> = Object.freeze({
  minChunkSize: 200, maxChunkSize: 2000, overlap: 100, headerLevels: Object.freeze([1, 2, 3]) as number[],
});

const SLUG_MAX = 60;
// CommonMark allows up to 3 spaces of indent. Only the openings are regular expressions: the rest of
// a line is read by hand, since a pattern like `(.*?)[ \t]*$` backtracks quadratically on a long run
// of spaces (a 40,000-space header line took 2.4 s).
const HEADER_OPEN = /^ {0,3}(#{1,6})[ \t]+/;
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/;
const PARAGRAPH_AT = /[ \t]*\n[ \t]*\n/y;

const isWs = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t';

/** An ATX header's level and title; a trailing run of #s after a space is decoration, not text. */
function parseHeader(line: string): { level: number; title: string } | null {
  const m = HEADER_OPEN.exec(line);
  if (!m) return null;
  let end = line.length;
  while (end > m[0].length && isBlank(line[end - 1])) end--;
  let hashes = end;
  while (hashes > m[0].length && line[hashes - 1] === '#') hashes--;
  if (hashes < end && hashes > m[0].length && isBlank(line[hashes - 1])) {
    end = hashes;
    while (end > m[0].length && isBlank(line[end - 1])) end--;
  }
  return { level: m[1].length, title: line.slice(m[0].length, end) };
}

export function splitMarkdown(doc: MarkdownDocument, options: Partial<ChunkOptions> = {}): Chunk[] {
  return [...markdownChunks(doc, options)];
}

/**
 * The chunks of a document one at a time, so a planner can stop at a limit and yield to the event
 * loop between them; every step is linear in the text it reads.
 */
export function* markdownChunks(doc: MarkdownDocument, options: Partial<ChunkOptions> = {}): Generator<Chunk> {
  const opts = resolveOptions(options);
  const text = doc.text.includes('\r') ? doc.text.replace(/\r\n?/g, '\n') : doc.text;
  const { sections, hasHeaders } = toSections(text, opts.headerLevels);
  const stem = fileStem(doc.name);
  const seen = new Map<string, number>();
  let index = 0;
  for (const s of sections) {
    const base = hasHeaders ? `${stem}_${slugify(s.header)}` : stem;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const id = n === 1 ? base : `${base}_${n}`;
    let i = 0;
    let previous: string | undefined;
    // A piece is known to be one of several only once the next one exists, so each is held back by one.
    for (const content of splitBySize(s.text, opts)) {
      if (previous !== undefined) yield { chunk_id: `${id}_part${i}`, content: previous, source: doc.name, header: s.header, section_path: [...s.path], method: 'size', index: index++ };
      previous = content;
      i++;
    }
    const several = i > 1;
    yield { chunk_id: several ? `${id}_part${i}` : id, content: previous!, source: doc.name, header: s.header, section_path: [...s.path], method: several ? 'size' : 'header', index: index++ };
  }
}

function resolveOptions(options: Partial<ChunkOptions>): Required<ChunkOptions> {
  // `??` rather than spread so an explicit `undefined` from a request body falls back to the default.
  const d = DEFAULT_CHUNK_OPTIONS;
  const o = {
    minChunkSize: options.minChunkSize ?? d.minChunkSize,
    maxChunkSize: options.maxChunkSize ?? d.maxChunkSize,
    overlap: options.overlap ?? d.overlap,
    headerLevels: [...(options.headerLevels ?? d.headerLevels)],
  };
  const check = (name: string, v: number, ok: boolean, rule: string) => {
    if (!Number.isInteger(v) || !ok) throw new RangeError(`${name} must be ${rule} (got ${v})`);
  };
  check('minChunkSize', o.minChunkSize, o.minChunkSize >= 1, 'an integer >= 1');
  check('maxChunkSize', o.maxChunkSize, o.maxChunkSize > o.minChunkSize, `an integer > minChunkSize (${o.minChunkSize})`);
  // overlap < min is what guarantees each size-split piece moves the cursor forward.
  check('overlap', o.overlap, o.overlap >= 0 && o.overlap < o.minChunkSize, `an integer >= 0 and < minChunkSize (${o.minChunkSize})`);
  for (const l of o.headerLevels) check('headerLevels', l, l >= 1 && l <= 6, 'a list of integers between 1 and 6');
  return o;
}

/** `docs/guide.md` → `guide`; a leading dot is part of the name (`.notes` stays `.notes`). */
export function fileStem(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return (dot > 0 ? base.slice(0, dot) : base) || 'document';
}

/** ASCII-only so ids are safe in file names and URLs; accents are folded first so "Café" → "cafe". */
export function slugify(header: string): string {
  const slug = header.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
    .slice(0, SLUG_MAX).replace(/-+$/, '');
  return slug || 'section';
}

/** `fence` numbers the fenced block a line belongs to (delimiters included), -1 outside; an unclosed fence runs to the end. */
interface Line { text: string; from: number; fence: number }

function scanLines(text: string): Line[] {
  let open: { char: string; len: number } | null = null;
  let blocks = 0;
  let from = 0;
  return text.split('\n').map((line) => {
    const m = FENCE_OPEN.exec(line);
    const info = m ? line.slice(m[0].length) : '';
    let fence = open ? blocks - 1 : -1;
    if (open) {
      if (m && m[1][0] === open.char && m[1].length >= open.len && info.trim() === '') open = null;
    } else if (m && !(m[1][0] === '`' && info.includes('`'))) {
      // A backtick fence's info string may not contain backticks (CommonMark); that is inline code.
      open = { char: m[1][0], len: m[1].length };
      fence = blocks++;
    }
    const out = { text: line, from, fence };
    from += line.length + 1;
    return out;
  });
}

interface Section { header: string; path: string[]; text: string }

function toSections(text: string, levels: number[]): { sections: Section[]; hasHeaders: boolean } {
  const raw: Array<{ header: string; path: string[]; from: number; to: number }> = [];
  const stack: Array<{ level: number; title: string }> = [];
  let cur = { header: 'Introduction', path: [] as string[], from: 0 };
  for (const line of scanLines(text)) {
    const m = line.fence >= 0 ? null : parseHeader(line.text);
    const title = m ? m.title.trim() : '';
    if (!m || !title || !levels.includes(m.level)) continue;
    raw.push({ ...cur, to: line.from });
    while (stack.length && stack[stack.length - 1].level >= m.level) stack.pop();
    stack.push({ level: m.level, title });
    cur = { header: title, path: stack.map((h) => h.title), from: line.from };
  }
  raw.push({ ...cur, to: text.length });
  if (raw.length === 1) {
    const whole = text.trim();
    return { sections: whole ? [{ header: '', path: [], text: whole }] : [], hasHeaders: false };
  }

  // A header with no body would be a useless chunk, but dropping it would lose the title; it is
  // prepended (as original text) to the next section. A trailing run of them is kept as-is.
  const sections: Section[] = [];
  let pendingFrom: number | null = null;
  raw.forEach((s, i) => {
    const own = text.slice(s.from, s.to).trim();
    if (!own) return;
    const headerOnly = s.path.length > 0 && !own.includes('\n'); // the Introduction has an empty path
    if (headerOnly && i < raw.length - 1) {
      pendingFrom ??= s.from;
      return;
    }
    sections.push({ header: s.header, path: s.path, text: text.slice(pendingFrom ?? s.from, s.to).trim() });
    pendingFrom = null;
  });
  return { sections, hasHeaders: true };
}

// Best first. `p` is the exclusive end of a piece; every kind requires text[p-1] to be non-space,
// so pieces are exact slices of the section with nothing to trim.
const BREAKS: Array<(t: string, p: number) => boolean> = [
  (t, p) => ((PARAGRAPH_AT.lastIndex = p), PARAGRAPH_AT.test(t)),
  (t, p) => /[.!?]/.test(t[p - 1]) && (t[p] === ' ' || t[p] === '\n'),
  (t, p) => isWs(t[p]),
];

/**
 * Pieces are <= maxChunkSize and, except the last, > minChunkSize. The one exception: a hard cut
 * that lands in a whitespace run longer than max - min is trimmed back and may come out shorter.
 */
function* splitBySize(text: string, o: Required<ChunkOptions>): Generator<string> {
  if (text.length <= o.maxChunkSize) {
    yield text;
    return;
  }
  const blocks: Array<[number, number]> = [];
  for (const l of scanLines(text)) if (l.fence >= 0) blocks[l.fence] = [blocks[l.fence]?.[0] ?? l.from, l.from + l.text.length];
  // Strictly inside, so a break right before an opening fence or right after a closing one is outside.
  // Blocks are ordered and disjoint: a binary search finds the only one that can hold p.
  const inFence = (p: number) => {
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (blocks[mid][1] <= p) lo = mid + 1;
      else if (blocks[mid][0] >= p) hi = mid - 1;
      else return true;
    }
    return false;
  };
  let start = 0;
  while (text.length - start > o.maxChunkSize) {
    const hi = start + o.maxChunkSize;
    let end = findBreak(text, start + o.minChunkSize + 1, hi, inFence);
    let resume: number | undefined;
    if (end < 0) {
      end = hi;
      if (/[\uD800-\uDBFF]/.test(text[end - 1]) && end - 1 > start) end--; // don't orphan half a surrogate pair
      const cut = end;
      while (end > start + 1 && isWs(text[end - 1])) end--;
      // The cut fell in a whitespace run wider than max - min: overlapping back into it would
      // emit a cascade of tiny repeated pieces, so continue after the run instead.
      if (end < cut) resume = cut;
    }
    yield text.slice(start, end);
    // Overlap is counted in original characters, then leading whitespace is skipped because chunks
    // are trimmed; text[end-1] is non-space, so that skip stops before `end`.
    let next = resume ?? Math.max(end - o.overlap, start + 1);
    if (/[\uDC00-\uDFFF]/.test(text[next])) next++;
    while (isWs(text[next])) next++;
    start = next;
  }
  yield text.slice(start);
}

/** Latest break in [lo, hi], best kind first; -1 if there is none (the caller cuts hard). */
function findBreak(text: string, lo: number, hi: number, inFence: (p: number) => boolean): number {
  // Leaving a code block intact beats a nicer kind of break inside it.
  for (const avoidFences of [true, false]) {
    for (const isBreak of BREAKS) {
      for (let p = hi; p >= lo; p--) {
        if (!isWs(text[p - 1]) && isBreak(text, p) && !(avoidFences && inFence(p))) return p;
      }
    }
  }
  return -1;
}

/**
 * Markdown → chunks for QA-pair generation. Modelled on Fair-Forge's LocalMarkdownLoader (sections
 * on H1–H3, long ones cut by size with overlap, ids `{stem}_{header}[_partN]`), with what its users
 * missed: sections under min_chunk_size merge with their neighbours, fenced code is never cut,
 * overlaps start at a sentence or word, badge and image rows are not text, and the document is
 * parsed by a CommonMark parser (markdown-blocks.ts) rather than by line patterns.
 */
import { lexBlocks, toBlocks, type Block, type BlockDocument } from './markdown-blocks.js';
import { splitBySize } from './size-split.js';

export interface MarkdownDocument { name: string; text: string }
export interface ChunkOptions { minChunkSize: number; maxChunkSize: number; overlap: number; headerLevels?: number[] }
export interface Chunk {
  chunk_id: string;
  content: string;
  source: string;
  /** The header of the chunk's first section ('Introduction' before the first header, '' in a header-less document). */
  header: string;
  /** The headers above the chunk: its section's path, or the path its merged sections share. */
  section_path: string[];
  /**
   * 'size' exactly when a section (or sections merged into one) had to be cut into parts, which is
   * also exactly when chunk_id carries `_partN`; 'header' for a chunk of whole sections.
   */
  method: 'header' | 'size';
  index: number;
}

export const DEFAULT_CHUNK_OPTIONS: Required<ChunkOptions> = Object.freeze({
  minChunkSize: 200, maxChunkSize: 2000, overlap: 100, headerLevels: Object.freeze([1, 2, 3]) as number[],
});

const SLUG_MAX = 60;

export function splitMarkdown(doc: MarkdownDocument, options: Partial<ChunkOptions> = {}): Chunk[] {
  return [...markdownChunks(doc, options)];
}

/** A section: a header in `headerLevels` and the blocks up to the next one, as a range of the document's blocks. */
interface Section { header: string; path: string[]; first: number; last: number }
/** Consecutive sections that become one chunk (or, past max_chunk_size, one run of parts). */
interface Group { sections: Section[]; from: number; to: number }

/**
 * The chunks of a document one at a time. Parsing happens at the first step, all at once: a planner
 * that must not hold the event loop uses `pacedMarkdownChunks`.
 */
export function* markdownChunks(doc: MarkdownDocument, options: Partial<ChunkOptions> = {}): Generator<Chunk> {
  const opts = resolveOptions(options);
  yield* chunksOf(doc.name, toBlocks(normalized(doc.text)), opts);
}

/** The same chunks, parsed a segment at a time with `pace()` between (services/generate plans with it). */
export async function* pacedMarkdownChunks(doc: MarkdownDocument, options: Partial<ChunkOptions>, pace: () => Promise<void> | undefined): AsyncGenerator<Chunk> {
  const opts = resolveOptions(options);
  const steps = lexBlocks(normalized(doc.text));
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done) {
      yield* chunksOf(doc.name, step.value, opts);
      return;
    }
    const turn = pace();
    if (turn) await turn;
  }
}

const normalized = (text: string) => (text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text);

/** Sections, grouped (pass one, then two), each group cut by size: grouping and cutting are linear in the text. */
function* chunksOf(name: string, parsed: BlockDocument, opts: Required<ChunkOptions>): Generator<Chunk> {
  const levels = opts.headerLevels;
  const hasHeaders = parsed.blocks.some((b) => b.kind === 'heading' && b.title && levels.includes(b.level!));
  const groups = mergeSmall(mergeSiblings(sectionsOf(parsed.blocks, levels, hasHeaders), parsed.blocks, opts), parsed.blocks, opts);
  const stem = fileStem(name);
  const seen = new Map<string, number>();
  let index = 0;
  for (const g of groups) {
    const head = g.sections[0];
    const base = hasHeaders ? `${stem}_${slugify(head.header)}` : stem;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const id = n === 1 ? base : `${base}_${n}`;
    const path = sharedPath(g.sections);
    const text = parsed.text.slice(g.from, g.to);
    const chunk = (content: string, part: number | undefined): Chunk => ({
      chunk_id: part ? `${id}_part${part}` : id, content, source: name, header: head.header, section_path: [...path], method: part ? 'size' : 'header', index: index++,
    });
    // A piece is known to be one of several only once the next one exists, so each is held back by one.
    let held: string | undefined;
    let part = 0;
    for (const [from, to] of splitBySize(local(parsed, g), opts)) {
      if (held !== undefined) yield chunk(held, part);
      held = text.slice(from, to);
      part++;
    }
    if (held !== undefined) yield chunk(held, part > 1 ? part : undefined);
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

/** The sections in order; without a header in `levels`, the whole document is one section with header ''. */
function* sectionsOf(blocks: Block[], levels: number[], hasHeaders: boolean): Generator<Section> {
  const stack: Array<{ level: number; title: string }> = [];
  let cur: Section = { header: hasHeaders ? 'Introduction' : '', path: [], first: 0, last: -1 };
  for (const [i, b] of blocks.entries()) {
    if (b.kind === 'heading' && b.title && levels.includes(b.level!)) {
      if (cur.last >= cur.first) yield cur;
      while (stack.length && stack[stack.length - 1].level >= b.level!) stack.pop();
      stack.push({ level: b.level!, title: b.title });
      cur = { header: b.title, path: stack.map((h) => h.title), first: i, last: i };
    } else {
      cur.last = i;
    }
  }
  if (cur.last >= cur.first) yield cur;
}

const span = (blocks: Block[], s: Section) => ({ from: blocks[s.first].from, to: blocks[s.last].to });

/**
 * First pass: a section under min_chunk_size joins the group before it, or the group before it joins
 * the section, while the group stays within max_chunk_size and everything in it lies under the
 * group head's parent header (siblings, and their subsections: never across a higher header).
 */
function* mergeSiblings(sections: Iterable<Section>, blocks: Block[], o: Required<ChunkOptions>): Generator<Group> {
  let g: Group | undefined;
  for (const s of sections) {
    const { from, to } = span(blocks, s);
    const parent = g?.sections[0].path.slice(0, -1);
    const underParent = parent !== undefined && parent.every((title, i) => s.path[i] === title) && s.path.length > parent.length;
    const small = g && (g.to - g.from < o.minChunkSize || to - from < o.minChunkSize);
    // A header with nothing under it belongs with what follows it, never at the end of a chunk.
    const headerOnly = s.first === s.last && blocks[s.first].kind === 'heading';
    const afterHeader = g !== undefined && blocks[g.sections[g.sections.length - 1].last].kind === 'heading';
    if (g && ((small && underParent && !headerOnly) || afterHeader) && to - g.from <= o.maxChunkSize) {
      g.sections.push(s);
      g.to = to;
    } else {
      if (g) yield g;
      g = { sections: [s], from, to };
    }
  }
  if (g) yield g;
}

/**
 * Second pass, for what is still under min_chunk_size: it joins whichever neighbour it fits with
 * (the smaller one when both fit), else the smaller neighbour, whose group is then cut by size. So
 * no chunk is under min_chunk_size unless the whole document is.
 */
function* mergeSmall(groups: Iterable<Group>, blocks: Block[], o: Required<ChunkOptions>): Generator<Group> {
  const size = (g: Group) => g.to - g.from;
  const join = (into: Group, g: Group) => {
    into.sections.push(...g.sections);
    into.to = g.to;
  };
  const upstream = groups[Symbol.iterator]();
  const pull = () => {
    const r = upstream.next();
    return r.done ? undefined : r.value;
  };
  const endsInHeader = (g: Group) => blocks[g.sections[g.sections.length - 1].last].kind === 'heading';
  let prev: Group | undefined;
  for (let g = pull(), next = pull(); g; g = next, next = pull()) {
    if (!prev) prev = g;
    // prev was left for this group to take in: too small, or a header waiting for its text.
    else if (size(prev) < o.minChunkSize || endsInHeader(prev)) join(prev, g);
    // A header with nothing under it goes with what follows it; at the very end, with what precedes it.
    else if (endsInHeader(g)) {
      if (next) {
        yield prev;
        prev = g;
      } else join(prev, g);
    } else if (size(g) >= o.minChunkSize || toNext(prev, g, next)) {
      yield prev;
      prev = g;
    } else join(prev, g);
  }
  if (prev) yield prev;

  /** Whether small `g` is left for `next` to take in rather than joining `prev`. */
  function toNext(prev: Group, g: Group, next: Group | undefined): boolean {
    if (!next) return false;
    const fitsPrev = g.to - prev.from <= o.maxChunkSize;
    const fitsNext = next.to - g.from <= o.maxChunkSize;
    const smallerNext = size(next) < size(prev);
    return fitsNext ? !fitsPrev || smallerNext : !fitsPrev && smallerNext;
  }
}

/** The headers a group's sections share: one section's own path, or the parent its merged sections have in common. */
function sharedPath(sections: Section[]): string[] {
  let path = sections[0].path;
  for (const s of sections) {
    let k = 0;
    while (k < path.length && k < s.path.length && path[k] === s.path[k]) k++;
    path = path.slice(0, k);
  }
  return path.length > 0 || sections.length > 1 ? path : sections[0].path;
}

/** A group's text with its block ends and no-cut ranges, in the group's own offsets. */
function local(parsed: BlockDocument, g: Group) {
  const first = g.sections[0].first;
  const last = g.sections[g.sections.length - 1].last;
  const blockEnds = parsed.blocks.slice(first, last + 1).map((b) => b.to - g.from);
  // The ranges are sorted and disjoint: find the first that ends after the group starts, take while they start before it ends.
  const all = parsed.noCut;
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (all[mid][1] <= g.from) lo = mid + 1;
    else hi = mid;
  }
  const noCut: Array<[number, number]> = [];
  for (let i = lo; i < all.length && all[i][0] < g.to; i++) noCut.push([Math.max(all[i][0], g.from) - g.from, Math.min(all[i][1], g.to) - g.from]);
  return { text: parsed.text.slice(g.from, g.to), blockEnds, noCut };
}

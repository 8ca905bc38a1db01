/**
 * Cutting a text longer than max_chunk_size into pieces: at block ends first, then paragraph,
 * sentence, line and word breaks; never inside a fenced code block or right after a header; the
 * last piece kept at least min_chunk_size where a break allows it; consecutive pieces sharing up to
 * `overlap` characters that start at a sentence or word.
 */

export interface SplitOptions { minChunkSize: number; maxChunkSize: number; overlap: number }

export interface SplitText {
  text: string;
  /** Where blocks end: the best breaks. Sorted. */
  blockEnds: number[];
  /** Open ranges no cut or overlap start may fall strictly inside. Sorted, disjoint. */
  noCut: Array<[number, number]>;
}

const isWs = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
const PARAGRAPH_AT = /[ \t]*\n[ \t]*\n/y;
const SENTENCE_END = /[.!?:;]/;

/** The range of `noCut` strictly containing p, if any (binary search; the ranges are sorted and disjoint). */
function containing(noCut: Array<[number, number]>, p: number): [number, number] | undefined {
  let lo = 0;
  let hi = noCut.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (noCut[mid][1] <= p) lo = mid + 1;
    else if (noCut[mid][0] >= p) hi = mid - 1;
    else return noCut[mid];
  }
  return undefined;
}

/** Kinds of break, best first; each requires text[p-1] to be non-space, so pieces need no trimming. */
const BREAKS: Array<(t: string, p: number) => boolean> = [
  (t, p) => ((PARAGRAPH_AT.lastIndex = p), PARAGRAPH_AT.test(t)),
  (t, p) => SENTENCE_END.test(t[p - 1]) && isWs(t[p]),
  (t, p) => t[p] === '\n',
  (t, p) => isWs(t[p]),
];

/** Latest break in [lo, hi] outside `noCut`, best kind first; -1 if there is none. */
function findBreak(s: SplitText, lo: number, hi: number): number {
  if (hi < lo) return -1;
  // Block ends: the latest one in range (they are never inside a code block; a header's is skipped).
  let a = 0;
  let b = s.blockEnds.length - 1;
  while (a <= b) {
    const mid = (a + b) >> 1;
    if (s.blockEnds[mid] <= hi) a = mid + 1;
    else b = mid - 1;
  }
  for (let i = b; i >= 0 && s.blockEnds[i] >= lo; i--) if (!containing(s.noCut, s.blockEnds[i])) return s.blockEnds[i];
  const { text } = s;
  for (const isBreak of BREAKS) {
    for (let p = hi; p >= lo; p--) {
      if (!isWs(text[p - 1]) && isBreak(text, p) && !containing(s.noCut, p)) return p;
    }
  }
  return -1;
}

/** Where the next piece starts: up to `overlap` characters back, at a sentence start if one is near, else at a word start, never in code. */
function overlapStart(s: SplitText, start: number, end: number, overlap: number): number {
  const { text } = s;
  let from = Math.max(end - overlap, start + 1);
  const wordStartAt = (p: number) => isWs(text[p - 1]) && !isWs(text[p]) && !containing(s.noCut, p);
  let word = -1;
  let sentence = -1;
  for (let p = from; p < end && sentence < 0; p++) {
    const inside = containing(s.noCut, p);
    if (inside) {
      p = inside[1] - 1;
      continue;
    }
    if (!wordStartAt(p)) continue;
    if (word < 0) word = p;
    let q = p - 1;
    while (q > start && isWs(text[q])) q--;
    if (text.slice(q + 1, p).includes('\n') || SENTENCE_END.test(text[q])) sentence = p;
  }
  // A sentence start that keeps at least half the overlap wins over the first word start.
  from = sentence >= 0 && end - sentence >= overlap / 2 ? sentence : word;
  return from < 0 ? end : from;
}

/** Pieces of `s.text` as [from, to) ranges; the text must already be trimmed. */
export function* splitBySize(s: SplitText, o: SplitOptions): Generator<[number, number]> {
  const { text } = s;
  const n = text.length;
  let start = 0;
  while (n - start > o.maxChunkSize) {
    const lo = start + o.minChunkSize + 1;
    const hi = start + o.maxChunkSize;
    // Leave at least min_chunk_size for the last piece. When only a later break exists, the rest
    // (less than max + min) stays one piece rather than leaving a scrap.
    let end = findBreak(s, lo, Math.min(hi, n - o.minChunkSize));
    if (end < 0 && findBreak(s, lo, hi) >= 0) end = n;
    let resume: number | undefined;
    if (end < 0) {
      const blocked = containing(s.noCut, hi);
      if (blocked) {
        // A code block (or a header and what follows it) spans the window: it stays whole, in this piece,
        // together with what little came before it.
        end = blocked[1];
        // A header right before a code block holds on to it: the range after this one may start where it ends.
        for (let next = containing(s.noCut, end + 1); next && next[0] <= end; next = containing(s.noCut, end + 1)) end = next[1];
        while (end > start + 1 && isWs(text[end - 1])) end--;
        let rest = end;
        while (isWs(text[rest])) rest++;
        if (n - rest < o.minChunkSize) end = n;
      } else {
        // Nothing to break at: a hard cut, early enough to leave the last piece min_chunk_size.
        end = n - hi < o.minChunkSize && n - o.minChunkSize >= lo ? n - o.minChunkSize : hi;
        if (/[\uD800-\uDBFF]/.test(text[end - 1]) && end - 1 > start) end--; // don't orphan half a surrogate pair
        const cut = end;
        while (end > start + 1 && isWs(text[end - 1])) end--;
        // The cut fell in a whitespace run wider than max - min: overlapping back into it would emit a
        // cascade of tiny repeated pieces, so continue after the run instead.
        if (cut - end > o.maxChunkSize - o.minChunkSize) resume = cut;
      }
    }
    yield [start, end];
    if (end >= n) return;
    let next = resume ?? (o.overlap > 0 ? overlapStart(s, start, end, o.overlap) : end);
    while (isWs(text[next])) next++;
    start = next;
  }
  if (start < n) yield [start, n];
}

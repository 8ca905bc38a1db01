/**
 * What keeps parsing a big or hostile document cheap: front matter set aside, the text lexed in
 * segments cut between blocks, and runaway nesting flattened before the parser sees it.
 */

/** Segments end at the first clean block start past SEGMENT characters, or at any line start past SEGMENT_MAX. */
const SEGMENT = 8 * 1024;
const SEGMENT_MAX = 16 * 1024;
const FENCE = /^[ \t>]*(`{3,}|~{3,})/;
const isWs = (c: string | undefined) => c !== undefined && /\s/.test(c);

/**
 * Where the segment that starts at `from` ends. marked takes about 1.3 µs a character on a long
 * list and overflows its regular expressions on a 10 MB paragraph, so a segment is 8–16 KB: it
 * ends where a block starts at the left margin after a blank line, else at a line start, else (one
 * line that long) after a space. Never inside fenced code, which is cheap to lex at any length.
 */
export function segmenter(text: string): (from: number) => number {
  // Where the next newline at or after `searchedFrom` is (-1: none): a line far longer than a segment is searched once, not once a segment.
  let searchedFrom = -1;
  let newline = -1;
  const newlineAt = (at: number) => {
    if (at < searchedFrom || (newline >= 0 && newline < at) || searchedFrom < 0) {
      newline = text.indexOf('\n', at);
      searchedFrom = at;
    }
    return newline;
  };
  return (from) => {
    if (text.length - from <= SEGMENT_MAX) return text.length;
    let fence: { char: string; len: number } | null = null;
    let blankBefore = false;
    for (let at = from; at < text.length; ) {
      const nl = newlineAt(at);
      const end = nl < 0 ? text.length : nl + 1;
      if (!fence && at > from) {
        if (blankBefore && !isWs(text[at]) && at - from >= SEGMENT) return at;
        if (at - from >= SEGMENT_MAX) return at;
      }
      if (!fence && end - from > 2 * SEGMENT_MAX) {
        // One line runs far past the segment: end before it, or, if it is the first, inside it.
        if (at > from) return at;
        return wordStartAfter(text, from + SEGMENT_MAX, end);
      }
      const line = text.slice(at, Math.min(end, at + 1000));
      const m = FENCE.exec(line);
      if (fence) {
        if (m && m[1][0] === fence.char && m[1].length >= fence.len && text.slice(at + m[0].length, end).trim() === '') fence = null;
      } else if (m && !(m[1][0] === '`' && text.slice(at + m[0].length, end).includes('`'))) {
        fence = { char: m[1][0], len: m[1].length };
      }
      blankBefore = end - at <= 1000 && line.trim() === '';
      at = end;
    }
    return text.length;
  };
}

/** The first word start at or after p (within SEGMENT_MAX of it and before `end`), else p itself, never between a surrogate pair. */
function wordStartAfter(text: string, p: number, end: number): number {
  for (let q = p; q < Math.min(end, p + SEGMENT_MAX); q++) if (isWs(text[q - 1]) && !isWs(text[q])) return q;
  return /[\uD800-\uDBFF]/.test(text[p - 1]) ? p + 1 : p;
}

/**
 * marked parses nested lists and quotes recursively, re-reading each level's text: 3,000 nested
 * list items took minutes and 4 GB, 10,000 `>` overflowed the stack. Past MAX_MARKERS container
 * markers on a line, or a list marker indented past MAX_INDENT columns, markers become spaces
 * (same length, so offsets still hold): what is that deep is read as text of the level above.
 */
const MAX_MARKERS = 8;
const MAX_INDENT = 24;
const MARKER = String.raw`(?:>|[-*+]|\d{1,9}[.)])`;
const DEEP = new RegExp(String.raw`^(?:[ \t]*${MARKER}(?=[ \t>]|$)){${MAX_MARKERS + 1}}|^[ \t]{${MAX_INDENT + 1},}${MARKER}`, 'm');
const PREFIX = new RegExp(String.raw`^(?:[ \t]*${MARKER}(?=[ \t>]|$))+`);
const LEADING_MARKER = new RegExp(`^${MARKER}`);

export function tameNesting(text: string): string {
  if (!DEEP.test(text)) return text;
  return text.replace(/^.+$/gm, (line) => {
    let indent = 0;
    while (line[indent] === ' ' || line[indent] === '\t') indent++;
    if (indent > MAX_INDENT) {
      const marker = LEADING_MARKER.exec(line.slice(indent))?.[0];
      return marker ? line.slice(0, indent) + ' '.repeat(marker.length) + line.slice(indent + marker.length) : line;
    }
    const prefix = PREFIX.exec(line)?.[0];
    if (!prefix) return line;
    let seen = 0;
    const tamed = prefix.replace(new RegExp(MARKER, 'g'), (m) => (++seen > MAX_MARKERS ? ' '.repeat(m.length) : m));
    return tamed + line.slice(prefix.length);
  });
}

/** YAML front matter (`---` … `---` or `...` at the very start) is metadata, not text: where it ends, or 0. */
export function frontMatterEnd(source: string): number {
  if (!/^---[ \t]*\n/.test(source)) return 0;
  let at = source.indexOf('\n') + 1;
  for (let line = 0; line < 1000 && at < source.length; line++) {
    const next = source.indexOf('\n', at);
    const end = next < 0 ? source.length : next + 1;
    if (/^(?:---|\.\.\.)[ \t]*\n?$/.test(source.slice(at, end))) return end;
    at = end;
  }
  return 0;
}

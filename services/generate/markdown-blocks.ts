import { Lexer, type Token } from 'marked';
import { frontMatterEnd, segmenter, tameNesting } from './markdown-segments.js';

/**
 * A markdown document as the chunker sees it: its top-level blocks, parsed by marked's lexer (a
 * CommonMark/GFM parser, so setext headers, fences inside lists and HTML blocks are what a renderer
 * says they are), with the blocks that carry no words (badge rows, image rows, HTML-only layout,
 * link definitions, rules, YAML front matter) left out of the text.
 */
export interface Block {
  kind: 'heading' | 'code' | 'text';
  /** Where the block lies in `BlockDocument.text`: trailing whitespace excluded. */
  from: number;
  to: number;
  /** heading: its level and its title as plain text. */
  level?: number;
  title?: string;
}

export interface BlockDocument {
  /** The document without its markup-only blocks; every kept block as written, the gaps between them too. */
  text: string;
  blocks: Block[];
  /**
   * Ranges no chunk boundary or overlap may fall strictly inside, sorted and disjoint: fenced code
   * blocks (top level, or nested in a list or quote), and each header with the gap after it so a
   * header never ends a piece.
   */
  noCut: Array<[number, number]>;
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/;
/** A fence line inside a list item or block quote: any indent, any `>` markers. */
const NESTED_FENCE = /^[ \t>]*(`{3,}|~{3,})/;
const WORDS = /[\p{L}\p{N}]/u;
const isWs = (c: string | undefined) => c !== undefined && /\s/.test(c);

/** The blocks of a whole document at once. */
export function toBlocks(source: string): BlockDocument {
  const steps = lexBlocks(source);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The blocks of a document, lexed a segment (8–16 KB, cut between blocks) at a time: the caller may
 * yield to the event loop at each step, and no single call into the parser gets a text big enough
 * to take long or to overflow its regular expressions (a 10 MB paragraph does).
 */
export function* lexBlocks(source: string): Generator<void, BlockDocument> {
  const skip = frontMatterEnd(source);
  const lexer = new Lexer({ gfm: true });
  const doc: BlockDocument = { text: '', blocks: [], noCut: [] };
  const at = { last: -1, droppedGap: skip > 0 };
  const segmentEnd = segmenter(source);
  for (let from = skip; from < source.length; ) {
    const to = segmentEnd(from);
    // Lexed as a same-length copy with runaway nesting flattened; the text is always taken from `source`.
    let offset = from;
    for (const token of lexer.blockTokens(tameNesting(source.slice(from, to)), [])) {
      addToken(doc, at, source, token, offset, lexer);
      offset += token.raw.length;
    }
    lexer.inlineQueue = [];
    from = to;
    yield;
  }
  const last = doc.blocks[doc.blocks.length - 1];
  if (last?.kind === 'heading') doc.noCut.push([last.from, last.to]);
  return doc;
}

/** Appends one top-level token at `from` in `source` to the document, unless it is space or markup. */
function addToken(doc: BlockDocument, at: { last: number; droppedGap: boolean }, source: string, token: Token, from: number, lexer: Lexer): void {
  if (token.type === 'space') return;
  const kind = kindOf(token, lexer);
  if (kind === 'markup') {
    at.droppedGap = true;
    return;
  }
  let end = from + token.raw.length;
  while (end > from && isWs(source[end - 1])) end--;
  // Indented code keeps its indent; anything else starts at its first character.
  if (token.type !== 'code') while (from < end && isWs(source[from])) from++;
  if (end === from) return;
  // The gap before the block as written; where markup was dropped, a paragraph break stands for it.
  if (doc.blocks.length > 0) doc.text += at.droppedGap ? '\n\n' : source.slice(at.last, from);
  at.droppedGap = false;
  const block: Block = { kind, from: doc.text.length, to: doc.text.length + (end - from) };
  // A header holds on to what follows it: no cut between it and this block's first character.
  const before = doc.blocks[doc.blocks.length - 1];
  if (before?.kind === 'heading') doc.noCut.push([before.from, block.from]);
  if (token.type === 'heading') Object.assign(block, { level: token.depth, title: plainText(lexer.inlineTokens(token.text)).trim() });
  if (kind === 'code') doc.noCut.push([block.from, block.to]);
  else if (token.type === 'list' || token.type === 'blockquote') doc.noCut.push(...nestedFences(source.slice(from, end), block.from));
  doc.text += source.slice(from, end);
  doc.blocks.push(block);
  at.last = end;
}

function kindOf(token: Token, lexer: Lexer): Block['kind'] | 'markup' {
  switch (token.type) {
    case 'heading':
      return 'heading';
    case 'code':
      return FENCE_OPEN.test(token.raw) ? 'code' : 'text';
    case 'hr':
    case 'def':
      return 'markup';
    case 'html':
      return WORDS.test(htmlText(token.raw)) ? 'text' : 'markup';
    case 'paragraph':
      // Only a paragraph that could be all images, links and tags is parsed inline.
      return /[![<]/.test(token.raw) && token.raw.length <= 20_000 && markupOnly(lexer.inlineTokens(token.text)) ? 'markup' : 'text';
    default:
      return 'text';
  }
}

/** The words of an HTML block: tags, comments and entities removed (alt text does not count). */
function htmlText(html: string): string {
  return html.replace(/<!--[\s\S]*?(?:-->|$)/g, ' ').replace(/<[^>]*>/g, ' ').replace(/&[#a-z0-9]+;/gi, ' ');
}

/** Images, links around images (badges), inline HTML and breaks, with nothing but punctuation between them. */
function markupOnly(tokens: Token[]): boolean {
  return tokens.every((t) => {
    switch (t.type) {
      case 'image':
      case 'html':
      case 'br':
        return true;
      case 'text':
      case 'escape':
        return !WORDS.test(t.text);
      case 'link':
      case 'strong':
      case 'em':
      case 'del':
        return markupOnly(t.tokens ?? []);
      default:
        return false;
    }
  });
}

/** Inline tokens as the words a reader sees: `**Install** [the CLI](url)` → `Install the CLI`. */
export function plainText(tokens: Token[]): string {
  return tokens
    .map((t) => {
      if (t.type === 'html') return '';
      if ('tokens' in t && Array.isArray(t.tokens) && t.tokens.length > 0) return plainText(t.tokens);
      return 'text' in t && typeof t.text === 'string' ? t.text : '';
    })
    .join('');
}

/** Fenced code inside a list or block quote, as ranges of `text` offset by `base`; an unclosed fence runs to the end. */
function nestedFences(text: string, base: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let open: { char: string; len: number; from: number } | null = null;
  let from = 0;
  for (const line of text.split('\n')) {
    const m = NESTED_FENCE.exec(line);
    if (open) {
      if (m && m[1][0] === open.char && m[1].length >= open.len && line.slice(m[0].length).trim() === '') {
        out.push([base + open.from, base + from + line.length]);
        open = null;
      }
    } else if (m && !(m[1][0] === '`' && line.slice(m[0].length).includes('`'))) {
      open = { char: m[1][0], len: m[1].length, from: from + (line.length - line.trimStart().length) };
    }
    from += line.length + 1;
  }
  if (open) out.push([base + open.from, base + text.length]);
  return out;
}

// Turns provider message arrays into plain text and slices that text into sentences and phrases,
// so fake answers visibly echo the prompt they were given.
import type { PromptText } from './types.js';

/** FNV-1a: tiny, stable across runs, good enough to spread picks over sentences. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export const estimateTokens = (chars: number): number => Math.ceil(chars / 4);

/** Text of a message content: a string, or an array of blocks of which only text-bearing ones count. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => {
      if (typeof part === 'string') return part;
      if (part && typeof part === 'object') {
        if (typeof part.text === 'string') return part.text;
        // Anthropic tool_result blocks nest their own content.
        if ('content' in part) return contentText(part.content);
      }
      return '';
    })
    .filter(Boolean)
    .join('\n');
}

export function collectPrompt(messages: unknown, system?: unknown): PromptText {
  const texts: string[] = [];
  const sys = contentText(system);
  if (sys) texts.push(sys);
  // The first user message is the task; later ones are follow-ups (e.g. validation feedback),
  // which a real model answers with the whole conversation in view.
  let firstUser = '';
  for (const m of Array.isArray(messages) ? messages : []) {
    const text = contentText(m?.content);
    if (!text) continue;
    texts.push(text);
    if (m.role === 'user' && !firstUser) firstUser = text;
  }
  const all = texts.join('\n');
  // Quarry's prompts fence the source passage in <<< >>>; answering from it (not from the
  // instructions around it) makes fake records look like what a real teacher would ground.
  const passages = [...all.matchAll(/<<<\s*([\s\S]*?)\s*>>>/g)].map((m) => m[1]).filter(Boolean);
  return { all, source: passages.at(-1) || firstUser || all, chars: texts.reduce((n, t) => n + t.length, 0) };
}

const FALLBACK = 'The fake LLM received no prompt text to draw from.';

export function sentences(text: string): string[] {
  const parts = text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => /[\p{L}\p{N}]/u.test(s));
  return parts.length ? parts : [FALLBACK];
}

/** Short noun-phrase-ish fragments, used as the subject of generated questions. */
export function phrases(text: string): string[] {
  const out: string[] = [];
  for (const s of sentences(text)) {
    for (const piece of s.split(/[,;:()"“”]|\s[-–—]\s/)) {
      const words = piece.replace(/[.!?]+$/, '').trim().split(/\s+/).filter(Boolean);
      if (words.length < 2) continue;
      let phrase = words.slice(0, 10).join(' ');
      // Lower-case a sentence-initial capital, but leave acronyms and all-caps words alone.
      if (/^(\p{Lu}\p{Ll}|A\s)/u.test(phrase)) phrase = phrase[0].toLowerCase() + phrase.slice(1);
      out.push(phrase);
    }
  }
  return out.length ? out : sentences(text).map((s) => s.replace(/[.!?]+$/, ''));
}

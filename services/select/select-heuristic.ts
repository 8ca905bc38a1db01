import { chatProblem } from '../records/shape-of.js';
import { toMessages } from '../records/to-messages.js';

type Rec = Record<string, unknown>;

/** The question and answer a heuristic reads: a pair's own fields, or a chat's first user and last assistant turns. */
export function questionAnswer(data: Rec): { question: string; answer: string } {
  if (chatProblem(data) === undefined) {
    const messages = toMessages(data);
    const question = messages.find((m) => m.role === 'user')?.content ?? '';
    const answer = messages.filter((m) => m.role === 'assistant').at(-1)?.content ?? '';
    return { question: question ?? '', answer: answer ?? '' };
  }
  return { question: typeof data.question === 'string' ? data.question : '', answer: typeof data.answer === 'string' ? data.answer : '' };
}

/** Words that ask for reasoning rather than a fact (the seed's "why/how/explain-type words"). */
const REASONING_WORDS = /\b(why|how|explain|explains|describe|compare|contrast|analy[sz]e|evaluate|justify|derive|prove)\b/i;
/** Terms that point at a technical, many-part subject (the seed's "complex terms"). */
const COMPLEX_TERMS = /\b(algorithm|architecture|trade-?offs?|optimi[sz]ation|optimi[sz]e|implications?|mechanisms?|relationship|consistency|concurrency|distributed|asymptotic|complexity|invariants?)\b/i;
/** Phrases by which an answer explains or illustrates (a +1 for quality). */
const EXPLAINS = /\b(because|for example|for instance|such as|e\.g\.|therefore)\b/i;

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
const clamp = (n: number) => Math.max(0, Math.min(10, n));

/**
 * The seed's heuristic complexity (multi_scorer.py without an LLM), on the question: 4, +2 when it
 * asks why/how/explain/describe/compare/analyse/evaluate/justify/derive/prove, +1 when it names a
 * complex term (algorithm, architecture, trade-off, optimisation, implication, mechanism,
 * relationship, consistency, concurrency, distributed, asymptotic, complexity, invariant), +1 when
 * it is longer than 20 words: 4 to 8.
 */
export function heuristicComplexity(question: string): number {
  return 4 + (REASONING_WORDS.test(question) ? 2 : 0) + (COMPLEX_TERMS.test(question) ? 1 : 0) + (words(question) > 20 ? 1 : 0);
}

/**
 * The seed's heuristic quality, on the answer's length in characters: under 50 → 4, under 200 → 6,
 * else 7; +1 when it explains or illustrates (because, for example, for instance, such as, e.g.,
 * therefore); −1 when it is under 20 characters or repeats the question word for word: 3 to 8.
 */
export function heuristicQuality(question: string, answer: string): number {
  const a = answer.trim();
  const base = a.length < 50 ? 4 : a.length < 200 ? 6 : 7;
  const repeats = question.trim() !== '' && a.toLowerCase().includes(question.trim().toLowerCase());
  return clamp(base + (EXPLAINS.test(a) ? 1 : 0) - (a.length < 20 || repeats ? 1 : 0));
}

import { createHash } from 'node:crypto';
import { LshIndex, normalise, signature } from '../curate/minhash.js';
import { fullText } from '../curate/record-text.js';
import { curationRating } from '../records/rating.js';
import { firstWord, questionAnswer, sourceOf, topicPathOf, type SourceField } from './compare.fields.js';

type Rec = Record<string, unknown>;

/** Near duplicates are looked for among at most this many records (MinHash signatures are 512 bytes each). */
export const NEAR_SAMPLE = 20_000;

export interface LengthStats { mean: number; median: number; p10: number; p90: number; min: number; max: number }

/** One dataset's figures, as the report shows them (semantic diversity is added by the finisher). */
export interface DatasetMetrics {
  count: number;
  /** Records with no question/answer to read (not QA, CoT or a chat); left out of every figure but count. */
  unreadable: number;
  question_chars: LengthStats | null;
  answer_chars: LengthStats | null;
  ratings: { mean: number; median: number; histogram: Record<string, number>; rated_share: number } | null;
  sources: { distinct: number; fields: SourceField[]; share_with_source: number } | { distinct: null; note: string };
  question_types: { distinct_first_words: number; diversity: number; top: Array<{ word: string; count: number }> };
  duplicates: { exact: number; near: number; rate: number; near_threshold: number; near_checked: number };
  topics: { distinct_paths: number; distinct_top_level: number; share_with_path: number } | null;
}

/** A 32-bit hash of a string (sha256's first bytes): sample membership and the seeded sample order. */
export const hash32 = (s: string) => createHash('sha256').update(s).digest().readUInt32BE(0);

class Numbers {
  private data = new Float64Array(1024);
  n = 0;
  push(v: number) {
    if (this.n === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.n++] = v;
  }
  stats(): LengthStats | null {
    if (this.n === 0) return null;
    const sorted = this.data.slice(0, this.n).sort();
    const at = (q: number) => sorted[Math.min(this.n - 1, Math.floor(q * (this.n - 1) + 0.5))];
    let sum = 0;
    for (const v of sorted) sum += v;
    return { mean: round(sum / this.n), median: at(0.5), p10: at(0.1), p90: at(0.9), min: sorted[0], max: sorted[this.n - 1] };
  }
}

const round = (v: number, places = 3) => Math.round(v * 10 ** places) / 10 ** places;

/**
 * The per-dataset figures, fed one record at a time while a task pages through the dataset: it
 * keeps numbers, hashes and distinct values, never the records. Near duplicates follow curate's
 * dedup (exact = same normalised full text, near = question MinHash at or above `near`, each
 * against the records before it, in insertion order: the share curate's dedup would drop); above
 * NEAR_SAMPLE records, the near check runs on a hash-chosen sample of about NEAR_SAMPLE records.
 */
export class MetricsAccumulator {
  private count = 0;
  private unreadable = 0;
  private readonly questions = new Numbers();
  private readonly answers = new Numbers();
  private readonly ratings = new Numbers();
  private readonly histogram = Array.from({ length: 11 }, () => 0);
  private readonly sources = new Set<string>();
  private readonly sourceFields = new Set<SourceField>();
  private withSource = 0;
  private readonly words = new Map<string, number>();
  private readonly exactSeen = new Set<string>();
  private exact = 0;
  private near = 0;
  private nearChecked = 0;
  private readonly lsh = new LshIndex<number>();
  private readonly paths = new Set<string>();
  private readonly tops = new Set<string>();
  private withPath = 0;
  private readonly nearCut: number;

  constructor(private readonly options: { near: number; expected: number }) {
    this.nearCut = options.expected <= NEAR_SAMPLE ? 2 ** 32 : Math.floor((2 ** 32 * NEAR_SAMPLE) / options.expected);
  }

  add(key: string, data: Rec): void {
    this.count++;
    const qa = questionAnswer(data);
    if (!qa) {
      this.unreadable++;
      return;
    }
    this.questions.push(qa.question.length);
    this.answers.push(qa.answer.length);
    const rating = curationRating(data);
    if (rating !== undefined) {
      this.ratings.push(rating);
      this.histogram[Math.max(0, Math.min(10, Math.round(rating)))]++;
    }
    const source = sourceOf(data);
    if (source) {
      this.withSource++;
      this.sourceFields.add(source.field);
      this.sources.add(source.value);
    }
    const word = firstWord(qa.question);
    if (word) this.words.set(word, (this.words.get(word) ?? 0) + 1);
    const path = topicPathOf(data);
    if (path) {
      this.withPath++;
      this.paths.add(path.join('\u0000'));
      this.tops.add(path[0]);
    }
    this.duplicate(key, data, qa.question);
  }

  private duplicate(key: string, data: Rec, question: string): void {
    const text = createHash('sha256').update(normalise(fullText(data))).digest('base64').slice(0, 16);
    if (this.exactSeen.has(text)) {
      this.exact++;
      return;
    }
    this.exactSeen.add(text);
    if (hash32(`near:${key}`) >= this.nearCut) return;
    this.nearChecked++;
    const sig = signature(question);
    if (this.lsh.nearest(sig, this.options.near)) this.near++;
    else this.lsh.add(this.nearChecked, sig);
  }

  finish(): DatasetMetrics {
    const readable = this.count - this.unreadable;
    const share = (n: number) => (readable === 0 ? 0 : round(n / readable));
    const sampled = this.nearChecked === 0 ? 0 : this.near / this.nearChecked;
    // Exact duplicates are counted over every record; the near share of the sample stands for the rest.
    const nearEstimate = this.nearChecked === readable - this.exact ? this.near : Math.round(sampled * (readable - this.exact));
    const ratings = this.ratings.stats();
    return {
      count: this.count,
      unreadable: this.unreadable,
      question_chars: this.questions.stats(),
      answer_chars: this.answers.stats(),
      ratings: ratings
        ? { mean: ratings.mean, median: ratings.median, histogram: Object.fromEntries(this.histogram.map((n, i) => [String(i), n])), rated_share: share(this.ratings.n) }
        : null,
      sources:
        this.withSource > 0
          ? { distinct: this.sources.size, fields: [...this.sourceFields].sort(), share_with_source: share(this.withSource) }
          : { distinct: null, note: 'no record carries a source (source, source_file, metadata.source_file, metadata.source or raw_document)' },
      question_types: {
        distinct_first_words: this.words.size,
        diversity: share(this.words.size),
        top: [...this.words].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10).map(([word, count]) => ({ word, count })),
      },
      duplicates: { exact: this.exact, near: nearEstimate, rate: share(this.exact + nearEstimate), near_threshold: this.options.near, near_checked: this.nearChecked },
      topics: this.withPath > 0 ? { distinct_paths: this.paths.size, distinct_top_level: this.tops.size, share_with_path: share(this.withPath) } : null,
    };
  }
}

/**
 * The seeded sample: the `size` readable records whose hash of (seed, key) is smallest. It depends
 * on the seed and the keys only, not on the order records are read in; it keeps `size` records.
 */
export class SeededSample {
  private readonly kept: Array<{ rank: number; key: string; data: Rec }> = [];
  constructor(private readonly seed: number, private readonly size: number) {}

  offer(key: string, data: Rec): void {
    if (!questionAnswer(data)) return;
    const rank = hash32(`${this.seed}:${key}`);
    const worst = this.kept.at(-1);
    if (this.kept.length >= this.size && worst && (rank > worst.rank || (rank === worst.rank && key > worst.key))) return;
    this.kept.push({ rank, key, data });
    this.kept.sort((a, b) => a.rank - b.rank || (a.key < b.key ? -1 : 1));
    if (this.kept.length > this.size) this.kept.pop();
  }

  records(): Array<{ key: string; data: Rec }> {
    return this.kept.map(({ key, data }) => ({ key, data }));
  }
}

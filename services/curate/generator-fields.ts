type Rec = Record<string, unknown>;

/** What the judge said about one record, as `curation` holds it. */
export interface Curation {
  rating: number;
  clarity: number;
  accuracy: number;
  usefulness: number;
  difficulty: number;
  topic_relevant?: boolean;
  reasoning: string;
}

/**
 * Generator's rating fields, flat beside the record's own (`SIslamMun/Generator` curate writes
 * `rating, clarity, accuracy, usefulness, difficulty, reasoning, topic_relevant` onto each pair), so
 * scripts written for its curated files read Quarry's. Without a topic `topic_relevant` is true, as
 * Generator reads a missing verdict. `curation` stays the full account.
 */
const flat = (c: Curation) => ({
  rating: c.rating,
  clarity: c.clarity,
  accuracy: c.accuracy,
  usefulness: c.usefulness,
  difficulty: c.difficulty,
  topic_relevant: c.topic_relevant ?? true,
  reasoning: c.reasoning,
});

/**
 * The flat fields a judged record gets. A field the record had before any judging is its own and
 * is never overwritten (a CoT record keeps its `reasoning` steps, as Generator keeps them); one an
 * earlier curation wrote is replaced. On a pair, a `reasoning` equal to `curation.reasoning` is read
 * as the judge's verdict, never as the pair's chain of thought (records/shape-of.ts `pairReasoning`),
 * so the judge's words never become training text.
 */
export function generatorFields(data: Rec, curation: Curation): Rec {
  const before = data.curation && typeof data.curation === 'object' ? flat(data.curation as Curation) : undefined;
  const out: Rec = {};
  for (const [key, value] of Object.entries(flat(curation))) {
    const own = Object.hasOwn(data, key) && data[key] !== (before as Rec | undefined)?.[key];
    if (own) continue;
    out[key] = value;
  }
  return out;
}

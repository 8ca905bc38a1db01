import type { DatasetMetrics } from './compare.metrics.js';

/** One dataset as the decision sees it: its figures, its semantic diversity and the judge's verdict on its sample. */
export interface Compared {
  label: string;
  dataset_id: string;
  metrics: DatasetMetrics;
  semantic_diversity: number | null;
  judgment: { mean_score: number; strengths: string[]; weaknesses: string[] } | null;
}

/** Which dataset does best on one figure (null when the best value is shared: a tie wins nothing). */
export interface MetricReason {
  metric: string;
  better: 'higher' | 'lower';
  winner: string | null;
  values: Record<string, number | null>;
  reason: string;
}

interface Figure {
  metric: string;
  better: 'higher' | 'lower';
  value: (c: Compared) => number | null;
  what: string;
}

/** The figures that rank datasets, each with the direction that is better. Counts are not among them: more is not better. */
const FIGURES: Figure[] = [
  { metric: 'duplicate_rate', better: 'lower', value: (c) => c.metrics.duplicates.rate, what: 'fewest exact and near duplicates' },
  { metric: 'distinct_sources', better: 'higher', value: (c) => c.metrics.sources.distinct, what: 'most distinct sources' },
  { metric: 'question_type_diversity', better: 'higher', value: (c) => c.metrics.question_types.diversity, what: 'most varied question types (distinct first words per record)' },
  { metric: 'semantic_diversity', better: 'higher', value: (c) => c.semantic_diversity, what: 'most semantically varied (mean distance to the nearest neighbour)' },
  { metric: 'answer_chars_median', better: 'higher', value: (c) => c.metrics.answer_chars?.median ?? null, what: 'fullest answers (median characters)' },
  { metric: 'rating_mean', better: 'higher', value: (c) => c.metrics.ratings?.mean ?? null, what: 'best curate ratings' },
  { metric: 'topic_paths', better: 'higher', value: (c) => c.metrics.topics?.distinct_paths ?? null, what: 'most topic paths covered' },
];

/** For each figure at least two datasets have, the dataset that does best (ties win nothing). */
export function metricReasons(datasets: Compared[]): MetricReason[] {
  const out: MetricReason[] = [];
  for (const f of FIGURES) {
    const values = Object.fromEntries(datasets.map((d) => [d.label, f.value(d)]));
    const known = datasets.filter((d) => f.value(d) !== null);
    if (known.length < 2) continue;
    const sign = f.better === 'higher' ? 1 : -1;
    const best = Math.max(...known.map((d) => sign * f.value(d)!));
    const top = known.filter((d) => sign * f.value(d)! === best);
    const winner = top.length === 1 ? top[0].label : null;
    const shown = known.map((d) => `${d.label} ${f.value(d)}`).join(', ');
    out.push({ metric: f.metric, better: f.better, winner, values, reason: winner ? `${winner}: ${f.what} (${shown})` : `tie on ${f.metric} (${shown})` });
  }
  return out;
}

const wins = (label: string, reasons: MetricReason[]) => reasons.filter((r) => r.winner === label).length;

/**
 * The metrics heuristic (judge: false, and the tie-break of the fallback): most figures won; then
 * the lower duplicate rate; then the higher semantic diversity; then the order given.
 */
export function byMetrics(datasets: Compared[], reasons: MetricReason[]): Compared {
  return [...datasets].sort(
    (a, b) =>
      wins(b.label, reasons) - wins(a.label, reasons) ||
      a.metrics.duplicates.rate - b.metrics.duplicates.rate ||
      (b.semantic_diversity ?? 0) - (a.semantic_diversity ?? 0),
  )[0];
}

/** The fallback when the decision call fails: the highest mean judge score; ties by the metrics heuristic. */
export function byScore(datasets: Compared[], reasons: MetricReason[]): Compared {
  const best = Math.max(...datasets.map((d) => d.judgment?.mean_score ?? 0));
  const top = datasets.filter((d) => (d.judgment?.mean_score ?? 0) === best);
  return top.length === 1 ? top[0] : byMetrics(top, reasons);
}

/** What the judge said of each dataset, best mean score first: the report's judge reasons. */
export function judgeReasons(datasets: Compared[]) {
  return datasets
    .filter((d) => d.judgment)
    .map((d) => ({ label: d.label, mean_score: d.judgment!.mean_score, strengths: d.judgment!.strengths, weaknesses: d.judgment!.weaknesses }))
    .sort((a, b) => b.mean_score - a.mean_score);
}

/** A short reasoning for a decision made without the decision call. */
export function explain(winner: Compared, reasons: MetricReason[], by: 'metrics' | 'fallback'): string {
  const won = reasons.filter((r) => r.winner === winner.label).map((r) => r.metric);
  const figures = won.length ? `it does best on ${won.join(', ')}` : 'no figure separates the datasets';
  if (by === 'metrics') return `${winner.label} wins on the metrics: ${figures} (judge: false, no teacher call).`;
  return `${winner.label} has the highest mean judge score (${winner.judgment?.mean_score ?? 'none'}); ${figures}. The decision call failed, so this is the fallback.`;
}

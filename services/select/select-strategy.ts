import type { VectorSet } from '../vectors/vector-set.js';
import { coverageSelect, deitaSelect, nearestNeighbours } from '../vectors/index.js';
import type { SelectSettings, WriteItem } from './select.payloads.js';
import { combinedOf, diversityOf } from './select-scores.js';

/** Per record, what the finisher gathered while loading vectors: its scores (none for coverage), its rating. */
export interface Picked {
  complexity?: number;
  quality?: number;
  rating?: number;
}

export interface Decided {
  /** Per row (canonical order): selected or not, diversity, cluster, why not. */
  items: Array<Omit<WriteItem, 'id'>>;
  details: Record<string, unknown>;
}

const summary = (values: ArrayLike<number>) => {
  if (values.length === 0) return { mean: null, min: null, max: null };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    min = Math.min(min, values[i]);
    max = Math.max(max, values[i]);
  }
  return { mean: Math.round((sum / values.length) * 1000) / 1000, min, max };
};

/** Rows by score, best first; ties by canonical order (the lower row), never by input position. */
const ranked = (rows: number[], score: (i: number) => number) => rows.sort((a, b) => score(b) - score(a) || a - b);

/** TOUCAN coverage: k-means clusters, picking from every one; every record carries its cluster. */
async function coverage(set: VectorSet, s: SelectSettings, signal?: AbortSignal): Promise<Decided> {
  const { selected, cluster, k } = await coverageSelect(set, s.target, s.pick, s.seed, { signal });
  const chosen = new Uint8Array(set.n);
  for (const row of selected) chosen[row] = 1;
  const sizes = new Array<number>(k).fill(0);
  const picked = new Array<number>(k).fill(0);
  for (let i = 0; i < set.n; i++) {
    sizes[cluster[i]]++;
    if (chosen[i]) picked[cluster[i]]++;
  }
  return {
    items: Array.from({ length: set.n }, (_, i) => ({ s: chosen[i] === 1, c: cluster[i], ...(chosen[i] ? {} : { r: 'not_picked' }) })),
    details: { k, pick: s.pick, seed: s.seed, cluster_sizes: summary(sizes), selected_per_cluster: summary(picked), clusters_without_selection: picked.filter((n) => n === 0).length },
  };
}

/**
 * DEITA's score-first selection, or the top records by one score. Diversity is each record's
 * distance to its nearest neighbour in the whole set, so it does not depend on input order.
 */
async function scored(set: VectorSet, picked: Picked[], s: SelectSettings, signal?: AbortSignal): Promise<Decided> {
  const nn = await nearestNeighbours(set, { signal });
  const diversity = Array.from({ length: set.n }, (_, i) => diversityOf(nn.index[i] < 0 ? 0 : nn.similarity[i]));
  const parts = (i: number) => ({ complexity: picked[i].complexity ?? 0, quality: picked[i].quality ?? 0, diversity: diversity[i] });
  const combined = Float64Array.from({ length: set.n }, (_, i) => combinedOf(parts(i), s.weights));
  const all = Array.from({ length: set.n }, (_, i) => i);
  const eligible = s.min_score === undefined ? all : all.filter((i) => combined[i] >= s.min_score!);
  const reason = new Array<string | undefined>(set.n);
  if (s.min_score !== undefined) for (const i of all) if (combined[i] < s.min_score) reason[i] = 'below_min_score';
  let selected: number[];
  const details: Record<string, unknown> = { below_min_score: set.n - eligible.length };
  if (s.strategy === 'deita') {
    const sub = subset(set, eligible);
    selected = Array.from(await deitaSelect(sub, Float64Array.from(eligible, (i) => combined[i]), s.target, s.threshold, { signal }), (r) => eligible[r]);
    // Every record ranked above the last one selected was visited and skipped as too close to one already selected.
    const order = ranked([...eligible], (i) => combined[i]);
    const taken = new Set(selected);
    const visited = selected.length < s.target ? order.length : order.indexOf(selected[selected.length - 1]) + 1;
    for (let p = 0; p < order.length; p++) if (!taken.has(order[p])) reason[order[p]] = p < visited ? 'too_similar' : 'not_reached';
    Object.assign(details, { threshold: s.threshold, threshold_skips: visited - selected.length });
  } else {
    const by = (i: number) => (s.score_by === 'combined' ? combined[i] : s.score_by === 'diversity' ? diversity[i] : s.score_by === 'rating' ? (picked[i].rating ?? 0) : (picked[i][s.score_by] ?? 0));
    selected = ranked([...eligible], by).slice(0, s.target);
    const taken = new Set(selected);
    for (const i of eligible) if (!taken.has(i)) reason[i] = 'not_in_top_k';
    Object.assign(details, { score_by: s.score_by });
  }
  const chosen = new Set(selected);
  const pickedOf = (f: (i: number) => number, rows: number[]) => summary(rows.map(f));
  const stats = (rows: number[]) => ({
    complexity: pickedOf((i) => parts(i).complexity, rows),
    quality: pickedOf((i) => parts(i).quality, rows),
    diversity: pickedOf((i) => diversity[i], rows),
    combined: pickedOf((i) => combined[i], rows),
  });
  return {
    items: all.map((i) => ({ s: chosen.has(i), d: diversity[i], ...(reason[i] && !chosen.has(i) ? { r: reason[i] } : {}) })),
    details: { ...details, weights: s.weights, scores: { all: stats(all), selected: stats(selected) } },
  };
}

/** The rows of `set` listed in `rows`, as a set of their own (no copy when that is every row). */
function subset(set: VectorSet, rows: number[]): VectorSet {
  if (rows.length === set.n) return set;
  const data = new Float32Array(rows.length * set.dims);
  rows.forEach((r, i) => data.set(set.data.subarray(r * set.dims, (r + 1) * set.dims), i * set.dims));
  return { n: rows.length, dims: set.dims, data };
}

/** Runs the request's strategy over the vectors (rows in canonical order) and what was gathered per row. */
export function decide(set: VectorSet, picked: Picked[], s: SelectSettings, signal?: AbortSignal): Promise<Decided> {
  return s.strategy === 'coverage' ? coverage(set, s, signal) : scored(set, picked, s, signal);
}

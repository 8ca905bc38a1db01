import type { MetricReason } from './compare.decision.js';
import type { DatasetMetrics } from './compare.metrics.js';

interface ReportDataset {
  label: string;
  dataset_id: string;
  metrics: DatasetMetrics & { semantic_diversity: number | null };
  judgment: { mean_score: number; model?: string; strengths: string[]; weaknesses: string[]; scores: Array<{ key: string; score: number; reason: string }> } | null;
}

/** A compare run's report as the finisher writes it (services/compare/compare.decide.ts). */
export interface CompareReport {
  datasets?: ReportDataset[];
  compared?: Array<{ label: string; dataset_id: string; records: number }>;
  embedding?: { kind: string; model?: string; provider?: string; method?: string; note?: string };
  decision?: { winner: string; winner_dataset_id: string; decided_by: string; reasoning: string; alternatives: Array<{ kind: string; description: string }>; model?: string; error?: { category: string; message: string } };
  metric_reasons?: MetricReason[];
  judge_reasons?: Array<{ label: string; mean_score: number; strengths: string[]; weaknesses: string[] }>;
  sample_size?: number;
  seed?: number;
}

/** Table cells may not hold a pipe or a line break. */
const cell = (v: unknown) => (v === null || v === undefined ? '–' : String(v).replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' '));
const row = (cells: unknown[]) => `| ${cells.map(cell).join(' | ')} |`;
const pct = (v: number | null | undefined) => (v === null || v === undefined ? null : `${Math.round(v * 1000) / 10}%`);

const METRIC_ROWS: Array<[string, (d: ReportDataset) => unknown]> = [
  ['records', (d) => d.metrics.count],
  ['question chars (median / p10–p90)', (d) => (d.metrics.question_chars ? `${d.metrics.question_chars.median} / ${d.metrics.question_chars.p10}–${d.metrics.question_chars.p90}` : null)],
  ['answer chars (median / p10–p90)', (d) => (d.metrics.answer_chars ? `${d.metrics.answer_chars.median} / ${d.metrics.answer_chars.p10}–${d.metrics.answer_chars.p90}` : null)],
  ['rating (mean, rated share)', (d) => (d.metrics.ratings ? `${d.metrics.ratings.mean} (${pct(d.metrics.ratings.rated_share)})` : null)],
  ['distinct sources', (d) => d.metrics.sources.distinct],
  ['question types (distinct first words)', (d) => `${d.metrics.question_types.distinct_first_words} (${pct(d.metrics.question_types.diversity)})`],
  ['top first words', (d) => d.metrics.question_types.top.slice(0, 3).map((w) => `${w.word} ${w.count}`).join(', ')],
  ['duplicate rate (exact + near)', (d) => `${pct(d.metrics.duplicates.rate)} (${d.metrics.duplicates.exact} + ${d.metrics.duplicates.near})`],
  ['semantic diversity', (d) => d.metrics.semantic_diversity],
  ['topic paths (top-level)', (d) => (d.metrics.topics ? `${d.metrics.topics.distinct_paths} (${d.metrics.topics.distinct_top_level})` : null)],
  ['judge mean score', (d) => d.judgment?.mean_score ?? null],
];

/**
 * The report as markdown for a CI log or a pull request comment: the decision first, then the
 * metrics side by side, the reasons on each side, and the judge's scores.
 */
export function compareMarkdown(run: { id: string; status: string }, report: CompareReport): string {
  const lines = [`# Dataset comparison (${run.id})`, ''];
  const decision = report.decision;
  if (!decision || !report.datasets) {
    const names = (report.compared ?? []).map((c) => `${c.label} (${c.records} records)`).join(', ');
    return [...lines, `Run status: **${run.status}**; no decision yet. Comparing: ${names || 'nothing'}.`, ''].join('\n');
  }
  const by = decision.decided_by === 'judge' ? `the judge${decision.model ? ` (${decision.model})` : ''}` : decision.decided_by === 'metrics' ? 'the metrics heuristic (judge: false)' : `the fallback (highest mean judge score; the decision call failed: ${decision.error?.category ?? 'error'})`;
  lines.push(`**Winner: ${decision.winner}** (\`${decision.winner_dataset_id}\`), decided by ${by}.`, '', `> ${cell(decision.reasoning)}`, '');
  if (decision.alternatives.length) lines.push('Alternatives:', ...decision.alternatives.map((a) => `- **${a.kind}**: ${cell(a.description)}`), '');
  const ds = report.datasets;
  lines.push('## Metrics', '', row(['metric', ...ds.map((d) => d.label)]), row(['---', ...ds.map(() => '---')]));
  for (const [name, value] of METRIC_ROWS) lines.push(row([name, ...ds.map(value)]));
  const method = report.embedding;
  if (method) lines.push('', `Semantic diversity: mean cosine distance to the nearest neighbour, by ${method.kind === 'model' ? `${method.provider}/${method.model}` : `${method.method} (${method.note ?? 'lexical fallback'})`}.`);
  const sources = ds.map((d) => `${d.label}: ${'fields' in d.metrics.sources ? d.metrics.sources.fields.join(', ') : d.metrics.sources.note}`).join('; ');
  lines.push(`Sources counted from: ${sources}.`, '');
  lines.push('## Metric reasons', '', ...(report.metric_reasons ?? []).map((r) => `- ${r.metric}: ${cell(r.reason)}`), '');
  if (report.judge_reasons?.length) {
    lines.push('## Judge reasons', '');
    for (const j of report.judge_reasons) {
      lines.push(`- **${j.label}**: mean ${j.mean_score}/10. Strengths: ${cell(j.strengths.join('; ') || 'none named')}. Weaknesses: ${cell(j.weaknesses.join('; ') || 'none named')}.`);
    }
    lines.push('', `## Judge scores (seeded sample of ${report.sample_size ?? '?'}, seed ${report.seed ?? 0})`, '', row(['dataset', 'record', 'score', 'reason']), row(['---', '---', '---', '---']));
    for (const d of ds) for (const s of d.judgment?.scores ?? []) lines.push(row([d.label, s.key, s.score, s.reason]));
    lines.push('');
  }
  return lines.join('\n');
}

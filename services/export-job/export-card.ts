import { stringify } from 'yaml';
import type { GroupBy } from './export-split.js';

/** One split as the card lists it. */
export interface CardSplit {
  name: string;
  rows: number;
  bytes: number;
  paths: string[];
}

/** A source dataset and the run that wrote it, as the card's body shows them. */
export interface CardSource {
  dataset_id: string;
  name: string;
  records: number;
  run?: { id: string; kind: string; spec: unknown; usage: Record<string, number> };
}

export interface CardInput {
  title: string;
  format: string;
  render: string;
  license: string;
  seed: number;
  group_by: GroupBy;
  split: Record<string, number>;
  splits: CardSplit[];
  /** Parquet's columns (all strings); JSONL files leave features to the loader. */
  columns?: string[];
  skipped: number;
  sources: CardSource[];
}

/** Keys whose values are never written to a card: a run's spec may carry headers and keys. */
const SECRET = /key|secret|token|password|authorization|header|cookie/i;

export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !SECRET.test(k)).map(([k, v]) => [k, withoutSecrets(v)]));
}

/**
 * The dataset card (`README.md`): Hugging Face's YAML front matter — `configs` with each split's
 * data files, so `datasets.load_dataset(folder)` finds them without guessing; `dataset_info` with
 * the splits' sizes (and the columns of Parquet files); license, task and tags — and a body with
 * how it was made. Splits that got no records are left out: a data file pattern that matches
 * nothing fails the loader.
 */
export function datasetCard(c: CardInput): string {
  const splits = c.splits.filter((s) => s.rows > 0);
  const front = {
    license: c.license,
    task_categories: ['text-generation'],
    tags: ['synthetic', 'quarry', c.format === 'parquet' ? c.render : c.format],
    configs: [{ config_name: 'default', data_files: splits.map((s) => ({ split: s.name, path: s.paths })) }],
    dataset_info: {
      ...(c.columns ? { features: c.columns.map((name) => ({ name, dtype: 'string' })) } : {}),
      splits: splits.map((s) => ({ name: s.name, num_bytes: s.bytes, num_examples: s.rows })),
      download_size: splits.reduce((a, s) => a + s.bytes, 0),
      dataset_size: splits.reduce((a, s) => a + s.bytes, 0),
    },
  };
  const body = [
    `# ${c.title}`,
    '',
    `Exported by Quarry as ${c.format === 'parquet' ? `Parquet (rows rendered as \`${c.render}\`; nested values are JSON strings)` : `\`${c.format}\` JSONL`}.`,
    '',
    '## Splits',
    '',
    `Grouped by ${c.group_by === 'chunk' ? 'chunk (else source document' : 'source document (else chunk'}, else normalised question) and assigned by a hash seeded with ${c.seed}; requested fractions: \`${JSON.stringify(c.split)}\`.`,
    '',
    '| split | examples | bytes | files |',
    '| --- | ---: | ---: | ---: |',
    ...c.splits.map((s) => `| ${s.name} | ${s.rows} | ${s.bytes} | ${s.paths.length} |`),
    '',
    ...(c.skipped > 0 ? [`${c.skipped} record(s) the format cannot render were skipped.`, ''] : []),
    '## How it was made',
    '',
    ...c.sources.flatMap((s) => [
      `### ${s.name} (\`${s.dataset_id}\`, ${s.records} records)`,
      '',
      ...(s.run
        ? [`Run \`${s.run.id}\` (${s.run.kind}); usage: \`${JSON.stringify(s.run.usage)}\`.`, '', '```json', JSON.stringify(withoutSecrets(s.run.spec), null, 2), '```', '']
        : ['Imported; no run generated it.', '']),
    ]),
  ];
  return `---\n${stringify(front)}---\n\n${body.join('\n')}`;
}

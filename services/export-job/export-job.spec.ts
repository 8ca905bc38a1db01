import { Type, type Static } from '@sinclair/typebox';
import { EXPORT_FORMATS } from '../export/formats.js';
import { GROUP_BY } from './export-split.js';

/** A split's name as Hugging Face data files carry it (`data/<split>-00000-of-00001.parquet`). */
export const SPLIT_NAME = '^[a-z][a-z0-9_]{0,31}$';
export const MAX_SPLITS = 10;
/** Bounds of one file: one row of `export_files` each, far below bytea's 1 GB. */
export const SHARD_BYTES = { min: 1024, max: 256 * 1024 ** 2, default: 256 * 1024 ** 2 } as const;
/** All files of one export together; an export that would write more fails (fatal), naming the bound. */
export const MAX_EXPORT_BYTES = 4 * 1024 ** 3;
/** Records read from all datasets of one export (the bound select and compare use). */
export const MAX_EXPORT_RECORDS = 1_000_000;

export const FILE_FORMATS = [...EXPORT_FORMATS, 'parquet'] as const;

export const ExportJobSpec = Type.Object(
  {
    dataset_ids: Type.Array(Type.String({ pattern: '^ds_[0-9a-f]{24}$' }), {
      minItems: 1,
      maxItems: 10,
      uniqueItems: true,
      description: `1–10 datasets of the caller, written as one (at most ${MAX_EXPORT_RECORDS.toLocaleString('en-US')} records in all)`,
    }),
    format: Type.Union(
      FILE_FORMATS.map((f) => Type.Literal(f)),
      { description: 'A training format of GET /v1/datasets/{id}/export (JSONL files), or `parquet`: rows rendered as `render`, one string column per field' },
    ),
    render: Type.Optional(
      Type.Union(
        EXPORT_FORMATS.map((f) => Type.Literal(f)),
        { description: 'With `parquet`: the format rows are rendered in before they become columns (default `jsonl`: records as stored)' },
      ),
    ),
    split: Type.Optional(
      Type.Record(Type.String({ pattern: SPLIT_NAME }), Type.Number({ minimum: 0, maximum: 1 }), {
        minProperties: 1,
        maxProperties: MAX_SPLITS,
        description:
          'Split names and fractions (> 0, summing to 1 within 1e-9; default `{"train": 1}`). Records are grouped (`group_by`) and each group goes whole to ' +
          'the split a seeded hash of its key picks: the same records give the same split whatever their order.',
      }),
    ),
    group_by: Type.Optional(
      Type.Union(GROUP_BY.map((g) => Type.Literal(g)), {
        description:
          'What a group is (default `chunk`): `chunk` keeps the records of one chunk together (`chunk_id`, else the source); `source` those of one document ' +
          '(`source`, `source_file`, `metadata.source_file`, `metadata.source`, a hash of `raw_document`; else `chunk_id`). Records with neither are grouped by their normalised question.',
      }),
    ),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: 'Seeds the split (default 42)' })),
    max_shard_bytes: Type.Optional(
      Type.Integer({
        minimum: SHARD_BYTES.min,
        maximum: SHARD_BYTES.max,
        description: `A split's file is cut into shards of about this many bytes (${SHARD_BYTES.min}–${SHARD_BYTES.max}, default ${SHARD_BYTES.default}; a shard holds at least one record)`,
      }),
    ),
    license: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9.+-]{0,63}$', description: "The card's `license` (a Hugging Face license id; default `other`)" })),
    system_prompt: Type.Optional(Type.String({ maxLength: 20_000, description: 'Adds (or replaces) the system turn of chat formats, as the streaming export' })),
  },
  { additionalProperties: false },
);
export type ExportJobSpec = Static<typeof ExportJobSpec>;

import { Type, type Static } from '@sinclair/typebox';
import { EXPORT_FORMATS } from '../export/formats.js';
import { FILE_FORMATS } from './export-job.spec.js';
import { GROUP_BY } from './export-split.js';

export const EXPORT_WRITE_KIND = 'export.write';

/** The one task of an export run: everything the planner checked, with the splits in the caller's order. */
export const ExportWritePayload = Type.Object({
  dataset_ids: Type.Array(Type.String()),
  format: Type.Union(FILE_FORMATS.map((f) => Type.Literal(f))),
  render: Type.Union(EXPORT_FORMATS.map((f) => Type.Literal(f))),
  splits: Type.Array(Type.Object({ name: Type.String(), fraction: Type.Number() })),
  seed: Type.Integer(),
  group_by: Type.Union(GROUP_BY.map((g) => Type.Literal(g))),
  max_shard_bytes: Type.Integer(),
  license: Type.String(),
  system_prompt: Type.Optional(Type.String()),
});
export type ExportWritePayload = Static<typeof ExportWritePayload>;

import { parquetWriteBuffer } from 'hyparquet-writer';

type Rec = Record<string, unknown>;

/**
 * One Parquet file of rendered rows. Every column is a nullable UTF-8 string: strings as they are,
 * anything else (numbers, booleans, `messages` and other nested values) as its JSON text. One type
 * for every column of every shard keeps the shards of a split (and the splits) one schema, whatever
 * a record holds, which `datasets.load_dataset` requires; a trainer decodes the nested columns with
 * `json.loads`. A field a row does not have is null.
 */
export function parquetFile(rows: Rec[], columns: string[]): Uint8Array {
  const columnData = columns.map((name) => ({
    name,
    type: 'STRING' as const,
    nullable: true,
    data: rows.map((row) => cell(row[name])),
  }));
  return new Uint8Array(parquetWriteBuffer({ columnData }));
}

export function cell(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

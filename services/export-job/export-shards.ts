import { createHash } from 'node:crypto';
import { parquetFile } from './export-parquet.js';

type Rec = Record<string, unknown>;

/** A finished shard, named before the number of shards is known (`shardName` renames it at the end). */
export interface Shard {
  split: string;
  index: number;
  rows: number;
  content: Uint8Array;
  sha256: string;
}

/** Hugging Face's shard names: `data/train-00000-of-00002.parquet`. */
export const shardName = (split: string, index: number, count: number, ext: string) =>
  `data/${split}-${String(index).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.${ext}`;

/**
 * One split's rows cut into files of about `maxBytes`: rows are buffered until the next would take
 * the shard past the bound (a shard holds at least one row), then written out through `sink`, so
 * memory holds one shard per split. Parquet shards are sized by their rows' JSON; the compressed
 * file comes out smaller.
 */
export class SplitShards {
  private rows: Rec[] = [];
  private lines: string[] = [];
  private size = 0;
  private index = 0;
  constructor(
    private readonly split: string,
    private readonly parquetColumns: string[] | undefined,
    private readonly maxBytes: number,
    private readonly sink: (shard: Shard) => Promise<void>,
  ) {}

  async add(row: Rec): Promise<void> {
    const line = `${JSON.stringify(row)}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) await this.flush();
    if (this.parquetColumns) this.rows.push(row);
    else this.lines.push(line);
    this.size += bytes;
  }

  /** Writes the last shard; the number of shards written. */
  async finish(): Promise<number> {
    if (this.size > 0) await this.flush();
    return this.index;
  }

  private async flush(): Promise<void> {
    const content = this.parquetColumns ? parquetFile(this.rows, this.parquetColumns) : new Uint8Array(Buffer.from(this.lines.join('')));
    const rows = this.parquetColumns ? this.rows.length : this.lines.length;
    const sha256 = createHash('sha256').update(content).digest('hex');
    await this.sink({ split: this.split, index: this.index++, rows, content, sha256 });
    this.rows = [];
    this.lines = [];
    this.size = 0;
  }
}

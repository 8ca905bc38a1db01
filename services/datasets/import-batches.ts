import type { ImportBatch } from '../../db/datasets.repository.js';
import { AppError } from '../../src/errors.js';
import { refusedBy } from '../export/render-contract.js';

export type { ImportBatch };

/** Records one import may hold: the default and the most IMPORT_MAX_RECORDS may be set to. */
export const MAX_IMPORT_RECORDS = 5_000_000;
/** Bytes one import body may hold by default (IMPORT_MAX_BYTES): 5,000,000 records of ~800 bytes. */
export const DEFAULT_IMPORT_MAX_BYTES = 4 * 1024 ** 3;
/** A record (a JSONL line, an item of the array), and the body around the records, at most this many bytes each. */
export const MAX_IMPORT_RECORD_BYTES = 1024 ** 2;

export interface ImportLimits {
  maxRecords: number;
  maxBytes: number;
  maxRecordBytes: number;
}

export const DEFAULT_IMPORT_LIMITS: ImportLimits = { maxRecords: MAX_IMPORT_RECORDS, maxBytes: DEFAULT_IMPORT_MAX_BYTES, maxRecordBytes: MAX_IMPORT_RECORD_BYTES };

/** How many records go to the database at once, and how many bytes of their JSON at most. */
export interface BatchSize {
  rows: number;
  bytes: number;
}

export const fmt = (n: number) => n.toLocaleString('en-US');
/** 4 GiB, 1 MiB, or 1,500 bytes: a byte bound as a reader would write it. */
export const bytesText = (bytes: number) =>
  bytes % 1024 ** 3 === 0 ? `${fmt(bytes / 1024 ** 3)} GiB` : bytes % 1024 ** 2 === 0 ? `${fmt(bytes / 1024 ** 2)} MiB` : `${fmt(bytes)} bytes`;

export const bodyTooLarge = (maxBytes: number) =>
  new AppError('payload_too_large', `an import body holds at most ${bytesText(maxBytes)} (IMPORT_MAX_BYTES)`, [{ field: 'body', message: `larger than ${fmt(maxBytes)} bytes` }]);

/** Collects the records' JSON texts, in order, into batches, each with the formats that refuse it; refuses the record past the cap. */
export class RecordBatches {
  count = 0;
  readonly ready: ImportBatch[] = [];
  private rows: ImportBatch = { texts: [], unrenderable: [] };
  private bytes = 0;

  constructor(
    private readonly size: BatchSize,
    private readonly maxRecords: number,
  ) {}

  add(json: string, record: unknown): void {
    if (this.count >= this.maxRecords) {
      throw new AppError('payload_too_large', `an import holds at most ${fmt(this.maxRecords)} records`, [{ field: 'records', message: `more than ${fmt(this.maxRecords)} records` }]);
    }
    this.count++;
    this.rows.texts.push(json);
    this.rows.unrenderable.push(refusedBy(record));
    this.bytes += json.length;
    if (this.rows.texts.length >= this.size.rows || this.bytes >= this.size.bytes) this.flush();
  }

  flush(): void {
    if (this.rows.texts.length === 0) return;
    this.ready.push(this.rows);
    this.rows = { texts: [], unrenderable: [] };
    this.bytes = 0;
  }
}

/** What reads one format: bytes in (any split), records out to the batches; `end` checks the body is whole. */
export interface RecordReader {
  write(bytes: Buffer): void;
  end(): void;
  /** The body's own name for the dataset (`{ "name": ... }`), once read. */
  readonly name?: string;
}

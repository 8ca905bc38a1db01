import { setImmediate as turn } from 'node:timers/promises';
import { AppError } from '../../src/errors.js';
import { RecordBatches, bodyTooLarge, type BatchSize, type ImportBatch, type ImportLimits, type RecordReader } from './import-batches.js';
import { JsonRecords } from './json-records.js';
import { JsonLinesRecords } from './jsonl-records.js';

export type ImportFormat = 'json' | 'jsonl';

// The parser gets the body in slices of at most this many bytes, so no slice holds the event loop
// for more than a few ms (64 KiB of JSON tokenizes in ~1 ms) and a batch is handed on soon after it fills.
const SLICE_BYTES = 64 * 1024;

/**
 * Reads an import body as it arrives and yields its records' JSON texts in batches, each record
 * checked as it completes (an object, storable, within the size bound). Nothing is held but the
 * record being read and the batches not yet taken: memory does not grow with the body. Throws a
 * 400 naming the record at fault (`line.12`, `records.12`, `12.q`), or a 413 naming the bound.
 */
export class ImportBody {
  readonly reader: RecordReader;
  private readonly batches: RecordBatches;
  private bytes = 0;

  constructor(
    format: ImportFormat,
    private readonly limits: ImportLimits,
    size: BatchSize,
  ) {
    this.batches = new RecordBatches(size, limits.maxRecords);
    this.reader = format === 'jsonl' ? new JsonLinesRecords(this.batches, limits.maxRecordBytes) : new JsonRecords(this.batches, limits.maxRecordBytes);
  }

  get name(): string | undefined {
    return this.reader.name;
  }

  get count(): number {
    return this.batches.count;
  }

  async *read(body: AsyncIterable<Buffer | string>): AsyncGenerator<ImportBatch> {
    try {
      for await (const chunk of body) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        this.bytes += bytes.length;
        if (this.bytes > this.limits.maxBytes) throw bodyTooLarge(this.limits.maxBytes);
        for (let at = 0; at < bytes.length; at += SLICE_BYTES) {
          this.reader.write(bytes.subarray(at, at + SLICE_BYTES));
          while (this.batches.ready.length > 0) yield this.batches.ready.shift()!;
        }
      }
    } catch (err) {
      throw err instanceof AppError ? err : cutShort(err);
    }
    this.reader.end();
    this.batches.flush();
    while (this.batches.ready.length > 0) yield this.batches.ready.shift()!;
  }
}

/** The body stopped before its end: the client went away (or the connection broke). */
function cutShort(err: unknown): AppError {
  const reason = err instanceof Error ? err.message : String(err);
  return new AppError('bad_request', 'the request body ended before it was complete; nothing was imported', [{ field: 'body', message: `cut short (${reason})` }]);
}

/**
 * Takes the next batch while the previous one is being written: the body is read and parsed while
 * the database inserts, so the two overlap. A rejected read ahead is kept until asked for.
 */
export async function* readAhead<T>(source: AsyncIterator<T>): AsyncGenerator<T> {
  let next = source.next();
  for (;;) {
    const result = await next;
    if (result.done) return;
    next = source.next();
    next.catch(() => undefined);
    yield result.value;
    // A turn of the loop between batches: an embedded database inserts on this thread.
    await turn();
  }
}

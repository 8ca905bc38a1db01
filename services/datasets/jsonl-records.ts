import { AppError } from '../../src/errors.js';
import { findRefusal, refusalError } from '../../src/safe-input.js';
import { bytesText, type RecordBatches, type RecordReader } from './import-batches.js';

const NEWLINE = 0x0a;
const BLANK = /^\s*$/;

/**
 * JSON Lines, split as the bytes arrive: a line may be cut anywhere across chunks (inside a UTF-8
 * character too: only whole lines are decoded). CRLF ends a line like LF (JSON.parse takes the CR as
 * whitespace); blank lines are skipped but counted, so `line.N` is the line a text editor shows; a
 * byte-order mark before the first line is dropped, as the JSON parser drops one.
 */
export class JsonLinesRecords implements RecordReader {
  readonly name = undefined;
  private line = 0;
  // The start of a line whose end has not arrived yet, copied out of the chunks it came in.
  private partial = Buffer.alloc(0);
  private partialBytes = 0;

  constructor(
    private readonly batches: RecordBatches,
    private readonly maxLineBytes: number,
  ) {}

  write(bytes: Buffer): void {
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE); end >= 0; end = bytes.indexOf(NEWLINE, start)) {
      if (this.partialBytes + end - start > this.maxLineBytes) throw this.tooLong();
      if (this.partialBytes > 0) {
        this.keep(bytes, start, end);
        this.take(this.partial.toString('utf8', 0, this.partialBytes));
        this.partialBytes = 0;
      } else {
        this.take(bytes.toString('utf8', start, end));
      }
      start = end + 1;
    }
    if (start < bytes.length) {
      if (this.partialBytes + bytes.length - start > this.maxLineBytes) throw this.tooLong();
      this.keep(bytes, start, bytes.length);
    }
  }

  end(): void {
    if (this.partialBytes > 0) this.take(this.partial.toString('utf8', 0, this.partialBytes));
    this.partialBytes = 0;
    if (this.batches.count === 0) throw new AppError('validation_failed', 'no records to import', [{ field: 'records', message: 'is empty: the body has no JSON line' }]);
  }

  private keep(bytes: Buffer, start: number, end: number): void {
    const need = this.partialBytes + end - start;
    if (need > this.partial.length) {
      // Doubling: a line trickled in a byte at a time is still copied O(n) times, not O(n²).
      const grown = Buffer.allocUnsafe(Math.max(need, this.partial.length * 2, 4096));
      this.partial.copy(grown, 0, 0, this.partialBytes);
      this.partial = grown;
    }
    bytes.copy(this.partial, this.partialBytes, start, end);
    this.partialBytes = need;
  }

  private take(text: string): void {
    this.line++;
    const line = this.line;
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (BLANK.test(text)) return;
    let item: unknown;
    try {
      item = JSON.parse(text);
    } catch (err) {
      throw new AppError('validation_failed', `line ${line} is not valid JSON`, [{ field: `line.${line}`, message: err instanceof Error ? err.message : String(err) }]);
    }
    // Never store what cannot be read back: NUL, unpaired surrogates, prototype keys, deep nesting.
    const refusal = findRefusal(item, `line.${line}`);
    if (refusal) throw refusalError(refusal);
    const index = this.batches.count;
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      throw new AppError('validation_failed', `record ${index} (line ${line}) is not a JSON object`, [{ field: `records.${index}`, message: 'must be an object' }]);
    }
    // The line itself is stored, not JSON.stringify of what it parsed to (a third of the CPU an
    // import costs here): the json column keeps text, and every read parses it back to this same value.
    this.batches.add(text, item);
  }

  private tooLong(): AppError {
    const line = this.line + 1;
    return new AppError('validation_failed', `line ${line} is longer than ${bytesText(this.maxLineBytes)}`, [{ field: `line.${line}`, message: `longer than ${bytesText(this.maxLineBytes)} (a record is at most that)` }]);
  }
}

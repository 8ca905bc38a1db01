import { TokenParser, TokenType, Tokenizer } from '@streamparser/json';
import { AppError } from '../../src/errors.js';
import { findRefusal, refusalError } from '../../src/safe-input.js';
import { bytesText, type RecordBatches, type RecordReader } from './import-batches.js';

type Token = Parameters<Tokenizer['onToken']>[0];

const MAX_NAME = 200;
const SHAPES = 'send a JSON array of record objects, or { "name": "...", "records": [...] }';

const opens = (t: Token) => t.token === TokenType.LEFT_BRACE || t.token === TokenType.LEFT_BRACKET;
const closes = (t: Token) => t.token === TokenType.RIGHT_BRACE || t.token === TokenType.RIGHT_BRACKET;
const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
const bodyError = (message: string, detail = message) => new AppError('validation_failed', message, [{ field: 'body', message: detail }]);
const fieldError = (field: string, message: string) => new AppError('validation_failed', `${field} ${message}`, [{ field, message }]);
/** `{ [key]: value }` with the key as an own property, whatever it is (`__proto__` included). */
const entry = (key: string | number, value: unknown) => Object.fromEntries([[String(key), value]]);

/** Where the next token at the top of an object body stands. */
type At = 'key' | 'colon' | 'value' | 'comma';

/**
 * A JSON array of records, or `{ "name", "records": [...] }` with name before or after records,
 * parsed as the bytes arrive by @streamparser/json's tokenizer. Tokens are routed by depth: the
 * records' go to one token parser that emits each record as it completes and keeps nothing after
 * (so an array of millions costs one record's memory); the rest of an object body (name, any other
 * field) goes to a second one, whose values are checked as they complete. Field paths and nesting
 * depth are counted from the body's root, as the edge guards count them for other routes: the
 * second record's `q` is `1.q` in an array, `records.1.q` in an object.
 */
export class JsonRecords implements RecordReader {
  name: string | undefined;
  private readonly tokenizer = new Tokenizer();
  private readonly records = new TokenParser({ paths: ['$.*'], keepStack: false });
  private envelope?: TokenParser;
  private root?: 'array' | 'object';
  private closed = false;
  private depth = 0;
  private at: At = 'key';
  private key = '';
  private inRecords = false;
  private sawRecords = false;
  private written = 0;
  // Where the record (or top-level value) being read began: what lies between it and `written` is held in memory.
  private unitStart = 0;

  constructor(
    private readonly batches: RecordBatches,
    private readonly maxUnitBytes: number,
  ) {
    this.tokenizer.onToken = (t) => this.route(t);
    this.records.onValue = ({ value, key }) => this.record(value, Number(key));
  }

  write(bytes: Buffer): void {
    this.guard(() => this.tokenizer.write(bytes));
    this.written += bytes.length;
    if (this.written - this.unitStart > this.maxUnitBytes) throw this.tooLarge();
  }

  end(): void {
    this.guard(() => this.tokenizer.end());
    if (this.root === undefined) throw bodyError(`the body is empty: ${SHAPES}`, 'is empty');
    if (!this.closed) throw bodyError('the body ends before its JSON does', 'is not complete JSON');
    if (this.root === 'object' && !this.sawRecords) throw fieldError('records', 'is required');
    if (this.batches.count === 0) throw this.root === 'array' ? bodyError('no records to import: the array is empty', 'is an empty array') : fieldError('records', 'is empty');
  }

  /** Parse errors from the library become a 400 naming the body; our own errors pass through. */
  private guard(step: () => void): void {
    try {
      step();
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw bodyError(`the body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, 'is not valid JSON');
    }
  }

  private route(t: Token): void {
    // A value that ends inside the slice that took it past the bound: refused before it is used.
    if (t.offset - this.unitStart > this.maxUnitBytes) throw this.tooLarge();
    if (closes(t)) this.depth--;
    if (this.closed) throw bodyError('the body holds more than one JSON value', 'has data after its JSON value');
    if (this.root === undefined) this.start(t);
    else if (this.root === 'array') this.records.write(t);
    else this.objectToken(t);
    if (opens(t)) this.depth++;
    if (this.depth === 0) this.closed = true;
    // Between two records (or two top-level values): nothing before this token is held any more.
    if (this.depth <= (this.inRecords ? 2 : 1)) this.unitStart = t.offset;
  }

  private start(t: Token): void {
    if (t.token === TokenType.LEFT_BRACKET) {
      this.root = 'array';
      this.records.write(t);
    } else if (t.token === TokenType.LEFT_BRACE) {
      this.root = 'object';
      this.envelope = new TokenParser({ paths: ['$.*'], keepStack: false });
      this.envelope.onValue = ({ key, value }) => this.field(String(key), value);
      this.envelope.write(t);
    } else {
      throw bodyError(`the body is a JSON ${t.token === TokenType.STRING ? 'string' : 'scalar'}: ${SHAPES}`, 'must be an array or an object');
    }
  }

  private objectToken(t: Token): void {
    const envelope = this.envelope!;
    if (this.inRecords) {
      this.records.write(t);
      // The records array's own `]`: the parser emitted every record; the rest is the envelope's.
      if (this.depth === 1) this.inRecords = false;
      return;
    }
    // Inside (or closing) the value of a field, or the body's own `}`.
    if (this.depth >= 2 || this.depth === 0 || (this.depth === 1 && closes(t))) {
      envelope.write(t);
      return;
    }
    if (this.at === 'key' && t.token === TokenType.STRING) {
      this.key = String(t.value);
      // A key that cannot be stored (NUL, `__proto__`, ...) is refused by name before its value is read.
      const refusal = findRefusal(entry(this.key, null));
      if (refusal) throw refusalError(refusal);
      this.at = 'colon';
    } else if (this.at === 'colon') {
      this.at = 'value';
    } else if (this.at === 'value') {
      this.at = 'comma';
      if (this.key === 'records') return this.startRecords(t);
      if (this.key === 'name' && t.token !== TokenType.STRING) throw fieldError('name', 'must be a string');
    } else if (this.at === 'comma') {
      this.at = 'key';
    }
    envelope.write(t);
  }

  private startRecords(t: Token): void {
    if (t.token !== TokenType.LEFT_BRACKET) throw fieldError('records', 'must be an array of objects');
    if (this.sawRecords) throw fieldError('records', 'appears twice');
    this.sawRecords = this.inRecords = true;
    this.records.write(t);
    // The envelope sees an empty array in its place, so its own parse stays whole.
    this.envelope!.write({ token: TokenType.LEFT_BRACKET, value: '[' });
    this.envelope!.write({ token: TokenType.RIGHT_BRACKET, value: ']' });
  }

  /** A top-level field of an object body, once its value is complete (records: the placeholder). */
  private field(key: string, value: unknown): void {
    if (key === 'records') return;
    const refusal = findRefusal(entry(key, value));
    if (refusal) throw refusalError(refusal);
    if (key === 'name') {
      const name = String(value);
      if (name.length < 1 || name.length > MAX_NAME) throw fieldError('name', `must be 1 to ${MAX_NAME} characters long`);
      this.name = name;
      return;
    }
    const details = [{ field: key, message: 'is not a known field: an import object holds name and records' }];
    if (!this.sawRecords) details.push({ field: 'records', message: 'is required' });
    throw new AppError('validation_failed', `${key} is not a known field; ${SHAPES}`, details);
  }

  private record(value: unknown, index: number): void {
    // Checked as the edge guards check other bodies: from the root, so depth and paths match theirs.
    const refusal = findRefusal(this.root === 'array' ? entry(index, value) : { records: entry(index, value) });
    if (refusal) throw refusalError(refusal);
    if (!isObject(value)) throw new AppError('validation_failed', `record ${index} is not a JSON object`, [{ field: `records.${index}`, message: 'must be an object' }]);
    this.batches.add(JSON.stringify(value), value);
  }

  private tooLarge(): AppError {
    const bound = bytesText(this.maxUnitBytes);
    if (this.root === 'array' || this.inRecords) {
      const index = this.batches.count;
      return new AppError('validation_failed', `record ${index} is larger than ${bound}`, [{ field: `records.${index}`, message: `larger than ${bound} (a record is at most that)` }]);
    }
    return new AppError('payload_too_large', `outside its records, an import body holds at most ${bound} per value`, [{ field: 'body', message: `a value other than a record is larger than ${bound}` }]);
  }
}

/**
 * One element of a Prefer header (RFC 7240 §2): `token [ "=" word ] *( ";" [ parameter ] )`, where
 * a word is a token or a quoted string. Names are lower-cased (they compare case-insensitively);
 * values are unquoted. `malformed` marks an element whose name was read but whose rest was not.
 */
export interface Preference {
  name: string;
  value?: string;
  params: Record<string, string | undefined>;
  malformed?: boolean;
}

// tchar of RFC 9110 §5.6.2.
const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const SPACE = /[ \t]*/y;

class Scanner {
  i = 0;
  constructor(readonly s: string) {}

  private match(re: RegExp): string | undefined {
    re.lastIndex = this.i;
    const m = re.exec(this.s);
    if (!m || m[0].length === 0) return undefined;
    this.i += m[0].length;
    return m[0];
  }

  space() {
    this.match(SPACE);
  }

  token() {
    return this.match(TOKEN);
  }

  /** Consumes `c` if the scanner is at it. */
  eat(c: string): boolean {
    if (this.s[this.i] !== c) return false;
    this.i++;
    return true;
  }

  /** A token or a quoted string (its escapes undone); undefined if neither is here. */
  word(): string | undefined {
    if (this.s[this.i] !== '"') return this.token();
    let out = '';
    for (let j = this.i + 1; j < this.s.length; j++) {
      const c = this.s[j];
      if (c === '"') {
        this.i = j + 1;
        return out;
      }
      if (c === '\\' && j + 1 < this.s.length) j++;
      out += this.s[j];
    }
    return undefined;
  }

  /** `[ "=" word ]` after a name, with optional whitespace around "=": the word, '' for a missing one, undefined without "=". */
  assignment(): string | undefined {
    const start = this.i;
    this.space();
    if (!this.eat('=')) {
      this.i = start;
      return undefined;
    }
    this.space();
    return this.word() ?? '';
  }

  /** Past the next comma outside a quoted string (or to the end). */
  skipElement() {
    let quoted = false;
    for (; this.i < this.s.length; this.i++) {
      const c = this.s[this.i];
      if (quoted && c === '\\') this.i++;
      else if (c === '"') quoted = !quoted;
      else if (c === ',' && !quoted) return;
    }
  }

  get done() {
    return this.i >= this.s.length;
  }
}

function element(s: Scanner): Preference | undefined {
  s.space();
  const name = s.token()?.toLowerCase();
  if (!name) return undefined;
  const preference: Preference = { name, value: s.assignment(), params: {} };
  for (;;) {
    s.space();
    if (!s.eat(';')) break;
    s.space();
    const param = s.token()?.toLowerCase();
    if (param && !(param in preference.params)) preference.params[param] = s.assignment();
  }
  s.space();
  if (!s.done && s.s[s.i] !== ',') preference.malformed = true;
  return preference;
}

/**
 * The preferences of one or more Prefer header values, by lower-cased name. A preference given more
 * than once counts once, as first given (RFC 7240 §2); empty list elements are allowed, and an
 * element that does not start with a name is skipped, as preferences nobody knows are.
 */
export function parsePrefer(header: string | string[] | undefined): Map<string, Preference> {
  const found = new Map<string, Preference>();
  for (const value of Array.isArray(header) ? header : header === undefined ? [] : [header]) {
    const s = new Scanner(value);
    while (!s.done) {
      const preference = element(s);
      if (preference && !found.has(preference.name)) found.set(preference.name, preference);
      s.skipElement();
      s.eat(',');
    }
  }
  return found;
}

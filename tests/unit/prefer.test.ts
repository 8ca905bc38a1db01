import { describe, expect, it } from 'vitest';
import { parsePrefer } from '../../src/http/prefer.js';

const parsed = (header: string | string[] | undefined) => Object.fromEntries([...parsePrefer(header)].map(([name, p]) => [name, p]));

describe('parsePrefer (RFC 7240)', () => {
  it('reads comma-separated preferences with and without values', () => {
    expect(parsed('respond-async, wait=10')).toEqual({
      'respond-async': { name: 'respond-async', value: undefined, params: {} },
      wait: { name: 'wait', value: '10', params: {} },
    });
  });

  it('compares names case-insensitively and allows whitespace around "=", ";" and ","', () => {
    expect(parsed('  Respond-Async ,WAIT = 7 ')).toMatchObject({ 'respond-async': { value: undefined }, wait: { value: '7' } });
    expect(parsed('wait\t=\t3')).toMatchObject({ wait: { value: '3' } });
  });

  it('unquotes quoted values, escapes included, and keeps commas inside them', () => {
    expect(parsed('wait="10", foo="a, \\"b\\"; c", bar')).toEqual({
      wait: { name: 'wait', value: '10', params: {} },
      foo: { name: 'foo', value: 'a, "b"; c', params: {} },
      bar: { name: 'bar', value: undefined, params: {} },
    });
  });

  it('reads parameters after ";", empty ones allowed', () => {
    expect(parsed('foo; bar="x y"; ;BAZ, wait=1')).toEqual({
      foo: { name: 'foo', value: undefined, params: { bar: 'x y', baz: undefined } },
      wait: { name: 'wait', value: '1', params: {} },
    });
  });

  it('counts a preference given twice once, as first given, across header lines too', () => {
    expect(parsed('wait=5, wait=9').wait.value).toBe('5');
    expect(parsed(['respond-async', 'wait=4, wait=8'])).toMatchObject({ 'respond-async': {}, wait: { value: '4' } });
  });

  it('allows empty list elements and skips elements without a name', () => {
    expect(Object.keys(parsed(', ,respond-async,, =3, "x", wait=2,'))).toEqual(['respond-async', 'wait']);
    expect(parsed('')).toEqual({});
    expect(parsed(undefined)).toEqual({});
  });

  it('marks an element whose name is followed by something unreadable, and reads on after it', () => {
    expect(parsed('wait=10 20, respond-async')).toMatchObject({ wait: { value: '10', malformed: true }, 'respond-async': {} });
    expect(parsed('wait=, x').wait).toMatchObject({ value: '' });
    expect(parsed('wait="10, x').wait).toMatchObject({ value: '', malformed: true });
  });
});

import { isIPv4, isIPv6 } from 'node:net';

/**
 * Whether an IP address is one a tool call must not reach unless an operator listed it: private
 * (RFC 1918, unique-local), loopback, link-local (and so cloud metadata, 169.254.169.254),
 * unspecified, carrier-grade NAT, benchmarking, documentation, multicast and reserved ranges.
 * IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, compatible, NAT64 `64:ff9b::`,
 * 6to4 `2002::`) are judged by that IPv4 address. Anything unparseable counts as private.
 */
export function isPrivateAddress(address: string): boolean {
  if (isIPv4(address)) return privateV4(v4ToNumber(address));
  if (isIPv6(address)) return privateV6(v6ToHextets(address));
  return true;
}

const V4_BLOCKED: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

const V4_RANGES = V4_BLOCKED.map(([base, bits]) => ({ base: v4ToNumber(base), mask: bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0 }));

function v4ToNumber(address: string): number {
  return address.split('.').reduce((n, octet) => ((n << 8) | Number(octet)) >>> 0, 0);
}

function privateV4(n: number): boolean {
  return V4_RANGES.some((r) => ((n & r.mask) >>> 0) === r.base);
}

/** Eight 16-bit groups; a trailing dotted IPv4 part becomes the last two. */
function v6ToHextets(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = v4ToNumber(dotted[1]);
    text = `${text.slice(0, -dotted[1].length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

const v4Of = (high: number, low: number) => ((high << 16) | low) >>> 0;

function privateV6(h: number[]): boolean {
  const zeros = (from: number, to: number) => h.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8)) return true; // ::
  if (zeros(0, 7) && h[7] === 1) return true; // ::1
  if (zeros(0, 5) && h[5] === 0xffff) return privateV4(v4Of(h[6], h[7])); // ::ffff:a.b.c.d, IPv4-mapped
  if (zeros(0, 4) && h[4] === 0xffff && h[5] === 0) return privateV4(v4Of(h[6], h[7])); // ::ffff:0:a.b.c.d, IPv4-translated
  if (zeros(0, 6)) return privateV4(v4Of(h[6], h[7])); // ::a.b.c.d, IPv4-compatible
  if (h[0] === 0x64 && h[1] === 0xff9b && zeros(2, 6)) return privateV4(v4Of(h[6], h[7])); // NAT64
  if (h[0] === 0x64 && h[1] === 0xff9b && h[2] === 1) return true; // local-use NAT64
  if (h[0] === 0x2002) return privateV4(v4Of(h[1], h[2])); // 6to4
  if (h[0] === 0x2001 && (h[1] === 0 || h[1] === 0xdb8)) return true; // Teredo, documentation
  if (h[0] === 0x100 && zeros(1, 4)) return true; // discard-only
  if ((h[0] & 0xfe00) === 0xfc00) return true; // fc00::/7 unique-local
  if ((h[0] & 0xffc0) === 0xfe80 || (h[0] & 0xffc0) === 0xfec0) return true; // link-local, site-local
  return (h[0] & 0xff00) === 0xff00; // multicast
}

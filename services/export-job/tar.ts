/**
 * A ustar archive written by hand (POSIX.1-1988): a 512-byte header per file, its bytes padded to
 * 512, two zero blocks at the end. Names are at most 100 bytes, which export paths always are
 * (`data/` + a 32-character split + 26 characters of shard name).
 */
export function tarHeader(name: string, size: number, mtime: Date): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, at: number, len: number) => h.write(s, at, len, 'utf8');
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  if (Buffer.byteLength(name) > 100) throw new Error(`tar: name too long: ${name}`);
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(Math.floor(mtime.getTime() / 1000), 12), 136, 12);
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\u000000', 257, 8);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

/** Zeros that take a file of `size` bytes to the next 512-byte boundary. */
export const tarPadding = (size: number) => Buffer.alloc((512 - (size % 512)) % 512);

/** The end of an archive: two zero blocks. */
export const TAR_END = Buffer.alloc(1024);

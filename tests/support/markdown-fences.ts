/** Whether a chunk ends inside a fenced code block, by CommonMark's rules (a closing fence has no info string). */
export function openFence(text: string): boolean {
  let open: { c: string; n: number } | null = null;
  for (const line of text.split('\n')) {
    const m = /^[ \t>]*(`{3,}|~{3,})(.*)$/.exec(line);
    if (!m) continue;
    if (open) {
      if (m[1][0] === open.c && m[1].length >= open.n && m[2].trim() === '') open = null;
    } else if (!(m[1][0] === '`' && m[2].includes('`'))) open = { c: m[1][0], n: m[1].length };
  }
  return open !== null;
}

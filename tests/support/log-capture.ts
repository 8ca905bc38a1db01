import { createLogger } from '../../src/quarry.js';

/** The service's own logger (its serializers included), writing every line to memory for a test to read. */
export function captureLog(level = 'info') {
  const lines: string[] = [];
  const log = createLogger({ logLevel: level }, { write: (line: string) => void lines.push(line) });
  return {
    log,
    lines: () => lines.map((l) => l.replace(/\n$/, '')),
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, any>),
    clear: () => void (lines.length = 0),
  };
}

import { createHash, randomBytes } from 'node:crypto';

export const ID_PATTERN = (prefix: string) => `^${prefix}_[0-9a-f]{24}$`;

export const newId = (prefix: 'run' | 'ds' | 'tp' | 'tl') => `${prefix}_${randomBytes(12).toString('hex')}`;

/** Stable hash for idempotency checks and keys; canonical JSON so key order does not matter. */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('hex');
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

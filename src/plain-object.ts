/** A JSON object (not null, not an array): what a record's `data` and most nested fields must be before they are read by key. */
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

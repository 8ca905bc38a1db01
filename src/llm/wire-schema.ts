/**
 * Keywords OpenAI strict mode (and Gemini's OpenAI endpoint) reject. They stay in the TypeBox
 * schema that validates the answer; they are only left out of what is sent.
 */
const UNSUPPORTED = new Set(['minLength', 'maxLength', 'format', 'pattern', 'default', 'examples', '$id', 'title']);

/** Plain JSON Schema for the wire: TypeBox symbols dropped, objects closed and fully required (strict mode). */
export function toWireSchema(schema: object): Record<string, unknown> {
  return strip(JSON.parse(JSON.stringify(schema))) as Record<string, unknown>;
}

function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (UNSUPPORTED.has(k)) continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([name, s]) => [name, strip(s)])) : strip(v);
  }
  if (out.type === 'object' && out.properties) {
    out.additionalProperties = false;
    out.required = Object.keys(out.properties as object);
  }
  return out;
}

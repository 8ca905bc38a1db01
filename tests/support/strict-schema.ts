/**
 * What OpenAI's Structured Outputs strict mode refuses in a JSON Schema, as problems with their
 * paths (none: accepted). The subset it takes: an object root; every object closed
 * (`additionalProperties: false`) with every property required; only the keywords below; at most
 * 5,000 object properties, 10 levels of nesting and 1,000 enum values in all.
 */
const KEYWORDS = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'anyOf', 'enum', 'const', 'description',
  '$defs', '$ref', 'minItems', 'maxItems', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
  'pattern', 'format',
]);
const LIMITS = { properties: 5000, depth: 10, enumValues: 1000 };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function strictModeProblems(schema: unknown): string[] {
  const problems: string[] = [];
  let properties = 0;
  let enumValues = 0;
  const walk = (node: unknown, path: string, depth: number) => {
    if (!isRecord(node)) return void problems.push(`${path}: not a schema object`);
    for (const key of Object.keys(node)) if (!KEYWORDS.has(key)) problems.push(`${path}: keyword ${key} is not supported`);
    if (depth > LIMITS.depth) problems.push(`${path}: nested deeper than ${LIMITS.depth} levels`);
    if (Array.isArray(node.enum)) enumValues += node.enum.length;
    if (node.type === 'object' || isRecord(node.properties)) {
      const names = Object.keys(isRecord(node.properties) ? node.properties : {});
      properties += names.length;
      if (node.additionalProperties !== false) problems.push(`${path}: additionalProperties must be false`);
      const required = Array.isArray(node.required) ? node.required : [];
      if ([...required].sort().join() !== [...names].sort().join()) problems.push(`${path}: every property must be required`);
      for (const name of names) walk((node.properties as Record<string, unknown>)[name], `${path}.${name}`, depth + 1);
    }
    if (node.items !== undefined) walk(node.items, `${path}[]`, depth + 1);
    if (Array.isArray(node.anyOf)) node.anyOf.forEach((b, i) => walk(b, `${path}.anyOf[${i}]`, depth + 1));
    if (isRecord(node.$defs)) for (const [name, def] of Object.entries(node.$defs)) walk(def, `${path}.$defs.${name}`, depth + 1);
  };
  if (!isRecord(schema) || schema.type !== 'object') problems.push('$: the root must be an object schema');
  walk(schema, '$', 1);
  if (properties > LIMITS.properties) problems.push(`$: ${properties} object properties (at most ${LIMITS.properties})`);
  if (enumValues > LIMITS.enumValues) problems.push(`$: ${enumValues} enum values (at most ${LIMITS.enumValues})`);
  return problems;
}

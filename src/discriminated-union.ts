import { Type, type SchemaOptions, type Static, type TObject, type TUnsafe } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { isRecord } from './plain-object.js';

type KeysOf<U> = U extends unknown ? keyof U : never;
type ValueAt<U, K extends PropertyKey> = U extends unknown ? (K extends keyof U ? Exclude<U[K], undefined> : never) : never;

/**
 * A union of request shapes read as one object: every field of any variant, each optional. Code
 * that consumes a request reads `spec.turns` whatever the task; the schema has already refused a
 * field its task does not take.
 */
export type Flatten<U> = { [K in KeysOf<U>]?: ValueAt<U, K> };

/**
 * A union of object schemas told apart by one property, marked with an OpenAPI `discriminator`.
 * The variant whose tag is optional is the default, taken when the tag is absent. Validators pick
 * the variant by the tag and check against it alone (src/http/validation.ts; `variantErrors` for
 * TypeBox), so an error names the field at fault instead of listing what every variant disliked.
 */
export function DiscriminatedUnion<T extends TObject[]>(propertyName: string, variants: [...T], options: SchemaOptions = {}): TUnsafe<Flatten<Static<T[number]>>> {
  return Type.Unsafe<Flatten<Static<T[number]>>>(Type.Union(variants, { ...options, discriminator: { propertyName } }));
}

/** A discriminated union as plain JSON Schema. */
export interface UnionSchema {
  anyOf: VariantSchema[];
  discriminator: { propertyName: string };
}

export interface VariantSchema {
  properties?: Record<string, { const?: unknown }>;
  required?: string[];
  oneOf?: unknown[];
}

export function isDiscriminated(schema: unknown): schema is UnionSchema {
  return isRecord(schema) && Array.isArray(schema.anyOf) && isRecord(schema.discriminator) && typeof schema.discriminator.propertyName === 'string';
}

/** The tag value each variant takes, in variant order. */
export const tagsOf = (union: UnionSchema): unknown[] => union.anyOf.map((v) => v.properties?.[union.discriminator.propertyName]?.const);

/**
 * The index of the variant `value` belongs to: the one its tag names, or the default one when the
 * tag is absent (a value that is not an object goes to the default too, which says what it must be).
 * -1: the tag names no variant, or it is absent and there is no default.
 */
export function variantOf(union: UnionSchema, value: unknown): number {
  const tag = union.discriminator.propertyName;
  if (!isRecord(value) || !Object.hasOwn(value, tag)) return union.anyOf.findIndex((v) => !(v.required ?? []).includes(tag));
  const tags = tagsOf(union);
  return tags.indexOf(value[tag]);
}

/** `must be one of "a", "b", "c"`: how an enum error reads, whichever validator found it. */
export const mustBeOneOf = (values: unknown[]) => `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;

/**
 * TypeBox reports a union that matched nothing as one "Expected union value". For a discriminated
 * union these are the errors of the variant the tag picks, with the paths TypeBox gives them.
 */
export function* variantErrors(errors: Iterable<ValueError>): Generator<{ path: string; message: string }> {
  for (const e of errors) {
    if (e.type !== ValueErrorType.Union || !isDiscriminated(e.schema)) {
      yield e;
      continue;
    }
    const i = variantOf(e.schema, e.value);
    if (i >= 0) yield* variantErrors(e.errors[i]);
    else yield { path: `${e.path}/${e.schema.discriminator.propertyName}`, message: mustBeOneOf(tagsOf(e.schema)) };
  }
}

import type Ajv from 'ajv';
import type { ErrorObject, FuncKeywordDefinition } from 'ajv';
import type { DataValidateFunction } from 'ajv/dist/types/index.js';
import { mustBeOneOf } from '../discriminated-union.js';

/** The keyword a discriminated union is rewritten to for validation (see prepareSchema). */
export const DISCRIMINATED = 'x-discriminated';

export interface Variant {
  tag: unknown;
  /** Taken when the tag is absent. */
  isDefault: boolean;
  /** Every field the variant takes. */
  fields: string[];
  /** The variant's source union: exactly one of these fields (undefined: the variant has none). */
  sources?: string[];
  schema: object;
}

interface Spec {
  propertyName: string;
  variants: Variant[];
}

const quoted = (values: unknown[]) => values.map((v) => JSON.stringify(v));
/** `"a"`, `"a" and "b"`, `"a", "b" and "c"`. */
const listed = (values: string[]) => (values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} and ${values[values.length - 1]}`);
const either = (values: string[]) => (values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`);

const error = (instancePath: string, keyword: string, message: string, params: Record<string, unknown> = {}): ErrorObject => ({ instancePath, schemaPath: '', keyword, params, message });

/**
 * Validates a discriminated union against the variant its tag picks, alone. A field that belongs to
 * other variants is named with the tags it applies to; a variant's source union (exactly one of its
 * source fields) is checked here so the error can say which sources this variant reads.
 */
export function discriminatedKeyword(ajv: Ajv.default): FuncKeywordDefinition {
  return {
    keyword: DISCRIMINATED,
    schemaType: 'object',
    errors: true,
    compile(spec: Spec) {
      const tag = spec.propertyName;
      const variants = spec.variants.map((v) => ({ ...v, validate: ajv.compile(v.schema), own: new Set(v.fields) }));
      const tagsOf = new Map<string, string[]>();
      for (const v of spec.variants) for (const f of v.fields) if (f !== tag) tagsOf.set(f, [...(tagsOf.get(f) ?? []), String(v.tag)]);
      const allSources = new Set(spec.variants.flatMap((v) => v.sources ?? []));

      const check: DataValidateFunction = (data, cxt) => {
        const at = cxt?.instancePath ?? '';
        const isObject = typeof data === 'object' && data !== null && !Array.isArray(data);
        const given = isObject && Object.hasOwn(data, tag);
        const variant = given ? variants.find((v) => v.tag === data[tag]) : variants.find((v) => v.isDefault);
        if (!variant) {
          const allowed = spec.variants.map((v) => v.tag);
          check.errors = [given ? error(`${at}/${tag}`, 'enum', mustBeOneOf(allowed), { allowedValues: allowed }) : error(at, 'required', `must have required property '${tag}'`, { missingProperty: tag })];
          return false;
        }
        const errors: ErrorObject[] = [];
        const name = String(variant.tag);
        const foreign = isObject ? Object.keys(data).filter((k) => !variant.own.has(k) && tagsOf.has(k)) : [];
        for (const field of foreign) {
          const tags = tagsOf.get(field)!;
          let message = tags.length === 1 ? `only applies to ${tag} "${tags[0]}"` : `does not apply to ${tag} "${name}" (only to ${tag}s ${listed(quoted(tags))})`;
          if (allSources.has(field) && variant.sources) message += `; ${tag} "${name}" reads ${either(variant.sources)}`;
          errors.push(error(`${at}/${field}`, 'appliesTo', message, { applies_to: tags }));
        }
        if (isObject && variant.sources) {
          const sources = variant.sources.filter((s) => Object.hasOwn(data, s));
          const foreignSources = foreign.filter((f) => allSources.has(f));
          if (sources.length > 1) errors.push(error(`${at}/${sources[1]}`, 'oneSource', `give one source, not ${sources.join(' and ')}`));
          else if (sources.length === 0 && foreignSources.length > 0) errors.push(error(`${at}/${tag}`, 'oneSource', `"${name}" reads ${either(variant.sources)}, not ${foreignSources.join(' or ')}`));
          else if (sources.length === 0) errors.push(error(`${at}/${variant.sources[0]}`, 'oneSource', `is missing: give one source (${either(variant.sources)})`));
        }
        if (!variant.validate(data)) {
          for (const e of variant.validate.errors ?? []) {
            // A field of another variant is reported above with what it applies to, not as unknown.
            if (e.keyword === 'additionalProperties' && e.instancePath === '' && foreign.includes(String(e.params.additionalProperty))) continue;
            errors.push({ ...e, instancePath: `${at}${e.instancePath}` });
          }
        }
        check.errors = errors;
        return errors.length === 0;
      };
      return check;
    },
  };
}

import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { describe, expect, it } from 'vitest';
import { DiscriminatedUnion, variantErrors, variantOf, type UnionSchema } from '../../src/discriminated-union.js';
import { validatorCompiler } from '../../src/http/validation.js';
import { PipelineSpec } from '../../services/pipelines/pipeline.spec.js';

const Shape = DiscriminatedUnion('kind', [
  Type.Object({ kind: Type.Optional(Type.Literal('circle')), radius: Type.Number({ minimum: 0 }) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('square'), side: Type.Number({ minimum: 0 }), label: Type.Optional(Type.String()) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('label'), label: Type.String() }, { additionalProperties: false }),
]);

/** The schema as JSON, the shape the validators see. */
const union: UnionSchema = JSON.parse(JSON.stringify(Shape));

const compile = validatorCompiler();
const validate = compile({ schema: Shape, httpPart: 'body', method: 'POST', url: '/' }) as ((v: unknown) => boolean) & { errors?: Array<{ instancePath: string; keyword: string; message?: string }> };
const errorsOf = (value: unknown) => (validate(value) ? [] : (validate.errors ?? []).map((e) => [e.instancePath, e.message]));

describe('discriminated unions', () => {
  it('picks the variant by its tag, the default when the tag is absent, none for an unknown tag', () => {
    expect(variantOf(union, { radius: 1 })).toBe(0);
    expect(variantOf(union, { kind: 'square' })).toBe(1);
    expect(variantOf(union, 'not an object')).toBe(0);
    expect(variantOf(union, { kind: 'hexagon' })).toBe(-1);
  });

  it('validates against that variant alone (the Ajv validator)', () => {
    expect(errorsOf({ radius: 2 })).toEqual([]);
    expect(errorsOf({ kind: 'square', side: -1 })).toEqual([['/side', 'must be >= 0']]);
    expect(errorsOf({ kind: 'hexagon' })).toEqual([['/kind', 'must be one of "circle", "square", "label"']]);
    expect(errorsOf({ radius: 1, side: 2 })).toEqual([['/side', 'only applies to kind "square"']]);
    expect(errorsOf({ kind: 'circle', radius: 1, label: 'x' })).toEqual([['/label', 'does not apply to kind "circle" (only to kinds "square" and "label")']]);
    expect(errorsOf(null)).toEqual([['', 'must be object']]);
  });

  it('turns TypeBox’s "Expected union value" into the errors of the variant the tag picks', () => {
    const check = TypeCompiler.Compile(Shape);
    expect([...variantErrors(check.Errors({ kind: 'square', side: 'wide' }))].map((e) => e.path)).toEqual(['/side']);
    expect([...variantErrors(check.Errors({ kind: 'hexagon' }))]).toEqual([{ path: '/kind', message: 'must be one of "circle", "square", "label"' }]);
  });

  it('keeps the DeepFabric path (TypeCompiler over a pipeline) naming fields inside the generate stage', () => {
    const check = TypeCompiler.Compile(PipelineSpec);
    const spec = { topics: { prompt: 'x' }, generate: { task: 'conversation', num_samples: 0, llm: { temperature: 9 } } };
    expect([...variantErrors(check.Errors(spec))].map((e) => e.path)).toEqual(['/generate/num_samples', '/generate/llm/temperature']);
    expect(check.Check({ topics: { prompt: 'x' }, generate: { task: 'conversation', num_samples: 4 } })).toBe(true);
  });

  it('validates a union of literals as one enum naming every value, in bodies and in query strings', () => {
    const Colour = Type.Union([Type.Literal('red'), Type.Literal('green'), Type.Literal('blue')]);
    const body = compile({ schema: Type.Object({ colour: Colour }), httpPart: 'body', method: 'POST', url: '/' }) as ((v: unknown) => boolean) & { errors?: Array<{ keyword: string; params: { allowedValues?: unknown[] } }> };
    expect(body({ colour: 'mauve' })).toBe(false);
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({ keyword: 'enum', params: { allowedValues: ['red', 'green', 'blue'] } });
    const Level = Type.Union([Type.Literal(1), Type.Literal(2)]);
    const query = compile({ schema: Type.Object({ level: Level }), httpPart: 'querystring', method: 'GET', url: '/' }) as (v: unknown) => boolean;
    const value = { level: '2' };
    expect(query(value)).toBe(true);
    expect(value.level).toBe(2);
  });
});

import { TypeCompiler } from '@sinclair/typebox/compiler';
import { describe, expect, it } from 'vitest';
import { byLabel, itemLabels, labelledSchema, splitsBatch, unlessSplit } from '../../src/llm/aligned.js';
import { LlmError } from '../../src/llm/llm.errors.js';
import { toWireSchema } from '../../src/llm/wire-schema.js';
import { Score, TopicScore } from '../../services/curate/curate.task.js';
import { Reasoning, Rewrite } from '../../services/enrich/enrich.task.js';
import { Verdict as TopicVerdict } from '../../services/generate/topic-filter.js';
import { Answer, Verdict as FaithfulnessVerdict } from '../../services/knowledge/knowledge.tasks.js';
import { subtopicsSchema } from '../../services/topics/topics.task.js';
import { strictModeProblems } from '../support/strict-schema.js';

describe('labelled batch answers', () => {
  const labels = itemLabels('p', 3);
  const sut = TypeCompiler.Compile(labelledSchema(TopicVerdict, labels));
  const verdict = (reason: string) => ({ on_topic: true, reason });

  it('takes one entry per label in any key order and reads them in batch order', () => {
    const answer = { p3: verdict('third'), p1: verdict('first'), p2: verdict('second') };
    expect(sut.Check(answer)).toBe(true);
    expect(byLabel(answer, labels).map((v) => v.reason)).toEqual(['first', 'second', 'third']);
  });

  it.each([
    ['a skipped label', { p1: verdict('a'), p3: verdict('c') }, '/p2'],
    ['an unknown label', { p1: verdict('a'), p2: verdict('b'), p3: verdict('c'), p4: verdict('d') }, '/p4'],
    ['bracketed labels', { '[p1]': verdict('a'), p2: verdict('b'), p3: verdict('c') }, '/p1'],
    ['the old items array', { items: [verdict('a'), verdict('b'), verdict('c')] }, '/p1'],
  ])('refuses %s, naming the label', (_, answer, path) => {
    expect(sut.Check(answer)).toBe(false);
    expect([...sut.Errors(answer)].map((e) => e.path)).toContain(path);
  });

  it('is one schema object per item schema and labels, so validators and wire forms are reused', () => {
    expect(labelledSchema(TopicVerdict, itemLabels('p', 3))).toBe(labelledSchema(TopicVerdict, labels));
    expect(labelledSchema(TopicVerdict, itemLabels('p', 4))).not.toBe(labelledSchema(TopicVerdict, labels));
  });
});

describe('splitting a batch', () => {
  it('splits batches of several items whose answer came back unusable, nothing else', () => {
    for (const category of ['schema', 'json', 'length'] as const) expect(splitsBatch(new LlmError(category, 'x'), 2)).toBe(true);
    for (const category of ['rate_limit', 'timeout', 'api', 'auth', 'refusal'] as const) expect(splitsBatch(new LlmError(category, 'x'), 2)).toBe(false);
    expect(splitsBatch(new LlmError('schema', 'x'), 1)).toBe(false);
    expect(splitsBatch(new Error('x'), 5)).toBe(false);
  });

  it('gives undefined for a batch to split and rethrows everything else', async () => {
    expect(await unlessSplit(3, Promise.reject(new LlmError('schema', 'never aligned')))).toBeUndefined();
    await expect(unlessSplit(1, Promise.reject(new LlmError('schema', 'one item')))).rejects.toThrow('one item');
    await expect(unlessSplit(3, Promise.reject(new LlmError('rate_limit', 'slow down')))).rejects.toThrow('slow down');
    expect(await unlessSplit(3, Promise.resolve('ok'))).toBe('ok');
  });
});

describe('batch schemas on the wire', () => {
  // Each at the largest batch a request may ask for (batch_size 20, n_pairs 50, questions_per_context 20).
  it.each([
    ['enrich rewrite', Rewrite, 'p', 20],
    ['enrich cot', Reasoning, 'p', 20],
    ['curate scores', Score, 'e', 20],
    ['curate scores with a topic', TopicScore, 'e', 20],
    ['topic filter', TopicVerdict, 'p', 50],
    ['knowledge answers', Answer, 'q', 20],
    ['knowledge faithfulness', FaithfulnessVerdict, 'a', 20],
  ] as const)('%s fits OpenAI strict mode, labels required and nothing else allowed', (_, item, prefix, n) => {
    const wire = toWireSchema(labelledSchema(item, itemLabels(prefix, n)));
    expect(strictModeProblems(wire)).toEqual([]);
    expect(wire.required).toEqual(itemLabels(prefix, n));
    expect(wire.additionalProperties).toBe(false);
  });

  it('topic expansion fits too, its links an enum of the related node ids', () => {
    const related = ['0123456789abcdef', 'fedcba9876543210'];
    const wire = toWireSchema(subtopicsSchema(3, related));
    expect(strictModeProblems(wire)).toEqual([]);
    expect(wire).toMatchObject({ properties: { subtopics: { items: { properties: { connections: { items: { type: 'string', enum: related } } } } } } });
    expect(strictModeProblems(toWireSchema(subtopicsSchema(3, [])))).toEqual([]);
  });

  it('the checker itself refuses what strict mode refuses', () => {
    expect(strictModeProblems({ type: 'object', properties: { a: { type: 'string' } } })).toEqual(['$: additionalProperties must be false', '$: every property must be required']);
    expect(strictModeProblems({ type: 'object', properties: { a: { type: 'string', minLength: 1 } }, required: ['a'], additionalProperties: false })).toEqual(['$.a: keyword minLength is not supported']);
    expect(strictModeProblems({ type: 'array', items: { type: 'string' } })).toContain('$: the root must be an object schema');
  });
});

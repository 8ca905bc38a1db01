import { describe, expect, expectTypeOf, it } from 'vitest';
import { judgeable, judgeText, questionText } from '../../services/curate/record-text.js';
import { render } from '../../services/export/formats.js';
import { alpacaContract, chatContract, contractFor, UnrenderableRecord } from '../../services/export/render-contract.js';
import type { RecordOf } from '../../services/records/record-shapes.js';
import { chatProblem, claimedShape, NO_CHAT, shapeOf, shapeProblem } from '../../services/records/shape-of.js';
import { toMessages, toolsOf } from '../../services/records/to-messages.js';
import type { TopicNode } from '../../services/topics/topic-structure.js';
import {
  alpacaRecord,
  chunkConversationRecord,
  cotRecord,
  HDF5_TOOLS,
  knowledgeRecord,
  qaRecord,
  questionTurnsRecord,
  seedCotRecord,
  shareGptRecord,
  toolConversation,
  topicConversationRecord,
  topicCotRecord,
  topicNodeRecord,
} from '../support/record-samples.js';

type Rec = Record<string, unknown>;

describe('shapeOf: every shape from the records Quarry writes and imports', () => {
  it.each([
    ['generate qa', qaRecord, 'qa'],
    ['a curated pair (curation beside the shape)', { ...qaRecord, curation: { rating: 8, reasoning: 'clear' } }, 'qa'],
    ['enrich rewrite', { ...qaRecord, original_answer: 'old', enrichment_changes: 'shorter', enrichment_model: 'm' }, 'qa'],
    ['a pair with empty reasoning', { ...qaRecord, reasoning: [] }, 'qa'],
    ['a pair with null reasoning', { ...qaRecord, reasoning: null }, 'qa'],
    ['generate cot', cotRecord, 'cot'],
    ['the seed CoT example', seedCotRecord, 'cot'],
    ['a topic sample with free-text reasoning', topicCotRecord, 'cot'],
    ['generate conversation (messages and turns)', chunkConversationRecord, 'conversation'],
    ['a DeepFabric conversation (system turn, reasoning object)', topicConversationRecord, 'conversation'],
    ['an OpenAI dump with tool_calls: null', { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello', tool_calls: null }] }, 'conversation'],
    ['a tool-call conversation', toolConversation(), 'tool_conversation'],
    ['a knowledge flow answer', knowledgeRecord, 'knowledge'],
    ['a rejected knowledge answer', { ...knowledgeRecord, faithfulness_judgment: 'NO', flow: 'document_qa', rejection: { reason: 'unfaithful' } }, 'knowledge'],
    ['an evaluation set (questions only)', questionTurnsRecord, 'turns'],
    ['a topic tree node', topicNodeRecord, 'topic_node'],
    ['a topic graph node', { ...topicNodeRecord, path: undefined }, 'topic_node'],
    ['an Alpaca import', alpacaRecord, 'alpaca'],
    ['a ShareGPT import', shareGptRecord, 'sharegpt'],
  ])('%s is %s', (_, record, shape) => {
    const r = JSON.parse(JSON.stringify(record)) as Rec;
    expect(shapeProblem(r, shape as never)).toBeUndefined();
    expect(shapeOf(r)).toBe(shape);
  });

  it('types the stored topic node as the topics code does', () => {
    expectTypeOf<RecordOf<'topic_node'>>().toEqualTypeOf<TopicNode>();
  });
});

describe('ambiguous and malformed records', () => {
  it.each([
    ['messages first: a broken conversation, not a pair', { messages: 5, question: 'q', answer: 'a' }, 'conversation', 'messages'],
    ['an empty conversation', { messages: [], question: 'q', answer: 'a' }, 'conversation', 'messages'],
    ['a turn without content', { messages: [{ role: 'user' }] }, 'conversation', 'messages.0.content'],
    ['a pair without an answer', { question: 'q' }, 'qa', 'answer'],
    ['reasoning of a type no reader knows', { question: 'q', answer: 'a', reasoning: 5 }, 'qa', 'reasoning'],
    ['steps that are not text', { question: 'q', answer: 'a', reasoning: [1, 2] }, 'cot', 'reasoning'],
    ['a knowledge answer that is not text', { question: 'q', response: 5 }, 'knowledge', 'response'],
    ['a verdict other than YES or NO', { ...knowledgeRecord, faithfulness_judgment: 'maybe' }, 'knowledge', 'faithfulness_judgment'],
    // The generator design notes' tool-use example: an instruction with a solution, not an Alpaca record.
    ['an instruction without an output', { instruction: 'Read the temperature data', solution: { reasoning_path: [] } }, 'alpaca', 'output'],
    ['a topic node without parents', { id: 'n', topic: 't', depth: 0, topic_hash: 'h' }, 'topic_node', 'parents'],
    ['a tool call whose arguments are not text', withTurn(2, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'open_file', arguments: { path: 'x' } } }] }), 'tool_conversation', 'messages.2.tool_calls.0.function.arguments'],
    ['a tool result answering no call', withTurn(3, { role: 'tool', tool_call_id: 'call_9', content: 'x' }), 'tool_conversation', 'messages.3.tool_call_id'],
    ['an assistant turn with neither text nor calls', withTurn(7, { role: 'assistant', content: null, tool_calls: [{ id: 'call_4', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'assistant' }), 'tool_conversation', 'messages.8'],
    ['a role tool calling does not know', withTurn(1, { role: 'function', content: 'x', tool_call_id: 'call_1' }), 'tool_conversation', 'messages.1.role'],
    ['tools that are not OpenAI function definitions', { ...toolConversation(), tools: [{ name: 'open_file' }] }, 'tool_conversation', 'tools.0.type'],
  ])('%s: claims %s, fits nothing, and the problem names %s', (_, record, claimed, path) => {
    expect(claimedShape(record)).toBe(claimed);
    expect(shapeOf(record)).toBeUndefined();
    expect(shapeProblem(record, claimed as never)?.path).toBe(path);
    expect(() => toMessages(record)).toThrow(UnrenderableRecord);
  });

  it('reads a curated pair’s flat reasoning (the judge’s verdict, as Generator writes it) as no chain of thought', () => {
    const judged = { question: 'q?', answer: 'a.', reasoning: 'Clear and grounded.', curation: { rating: 8, reasoning: 'Clear and grounded.' } };
    expect(shapeOf(judged)).toBe('qa');
    expect(toMessages(judged)).toEqual([{ role: 'user', content: 'q?' }, { role: 'assistant', content: 'a.' }]);
    // Reasoning of its own (different from the verdict) is still the pair's chain of thought.
    expect(shapeOf({ ...judged, reasoning: 'First, the cause.' })).toBe('cot');
    expect(shapeOf({ ...judged, reasoning: ['one', 'two'] })).toBe('cot');
  });

  it('takes a pair with both answer and response as a pair', () => {
    expect(shapeOf({ question: 'q', answer: 'a', response: 'r' })).toBe('qa');
  });

  it.each([[{}], [{ note: 'no shape' }], [{ content: 'a chunk' }], [[]]])('%j has no shape and no chat', (record) => {
    expect(shapeOf(record as Rec)).toBeUndefined();
    expect(chatProblem(record as Rec)).toEqual({ path: '', message: NO_CHAT });
  });

  it.each([questionTurnsRecord, topicNodeRecord])('a valid record of a shape without a chat has no messages (%#)', (record) => {
    expect(shapeOf(record)).toBeDefined();
    expect(() => toMessages(record)).toThrow(`record: ${NO_CHAT}`);
  });
});

describe('toMessages', () => {
  it('reads a pair as a user question and the assistant answer', () => {
    expect(toMessages(qaRecord)).toEqual([{ role: 'user', content: qaRecord.question }, { role: 'assistant', content: qaRecord.answer }]);
  });

  it('puts numbered steps before a CoT answer, or apart from it', () => {
    const steps = '1. Each commit costs an fsync.\n2. A batch shares one fsync among many tasks.';
    expect(toMessages(cotRecord)[1]).toEqual({ role: 'assistant', content: `${steps}\n\n${cotRecord.answer}` });
    expect(toMessages(cotRecord, { separateReasoning: true })[1]).toEqual({ role: 'assistant', content: cotRecord.answer, reasoning_content: steps });
    expect(toMessages(topicCotRecord)[1].content).toBe(`${topicCotRecord.reasoning}\n\n${topicCotRecord.answer}`);
  });

  it('reads a knowledge answer as the response to the question', () => {
    expect(toMessages(knowledgeRecord)).toEqual([{ role: 'user', content: knowledgeRecord.question }, { role: 'assistant', content: knowledgeRecord.response }]);
  });

  it('passes conversations through as stored, and replaces their system turns when asked', () => {
    expect(toMessages(chunkConversationRecord)).toEqual(chunkConversationRecord.messages);
    const [system, user, answer] = topicConversationRecord.messages;
    // DeepFabric's reasoning goes to the answer: before it in a <thinking> block, or beside it.
    const thought = { ...answer, content: `<thinking>Step 1: Gluten tightens when kneaded.</thinking>\n${answer.content}` };
    expect(toMessages(topicConversationRecord, { system: 'Be terse.' })).toEqual([{ role: 'system', content: 'Be terse.' }, user, thought]);
    expect(toMessages(topicConversationRecord, { system: '' })).toEqual([system, user, thought]);
    expect(toMessages(topicConversationRecord, { separateReasoning: true })).toEqual([system, user, { ...answer, reasoning_content: 'Step 1: Gluten tightens when kneaded.' }]);
    // A `reasoning` that is not DeepFabric's (a judge's verdict text) is left alone.
    expect(toMessages({ ...topicConversationRecord, reasoning: 'clear and correct' })).toEqual(topicConversationRecord.messages);
  });

  it('keeps tool calls and tool results in OpenAI form', () => {
    const record = toolConversation();
    const messages = toMessages(record);
    expect(messages).toEqual(record.messages);
    expect(messages[2]).toEqual({ role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'open_file', arguments: '{"path":"/data/simulation.h5","mode":"r"}' } }] });
    expect(messages.filter((m) => m.role === 'tool').map((m) => m.tool_call_id)).toEqual(['call_1', 'call_2', 'call_3']);
    expect(toolsOf(record)).toEqual(HDF5_TOOLS);
    expect(toolsOf(chunkConversationRecord)).toBeUndefined();
  });

  it('reads Alpaca and ShareGPT imports', () => {
    expect(toMessages(alpacaRecord)).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Translate to French\n\nhello' }, { role: 'assistant', content: 'bonjour' }]);
    expect(toMessages(shareGptRecord)).toEqual([{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }]);
    // An unknown speaker is the user (and never an inherited property name).
    expect(toMessages({ conversations: [{ from: 'constructor', value: 'v' }] })).toEqual([{ role: 'user', content: 'v' }]);
  });
});

describe('export, curate and enrich read records through this module', () => {
  it('export: a tool-call conversation renders as messages with tool_calls and the tools offered', () => {
    const record = toolConversation();
    expect(chatContract.problem(record)).toBeUndefined();
    expect(render('chatml', record)).toEqual({ messages: record.messages, tools: HDF5_TOOLS });
    expect(render('messages', record, { systemPrompt: 'Answer in French.' })).toEqual({ messages: [{ role: 'system', content: 'Answer in French.' }, ...record.messages.slice(1)], tools: HDF5_TOOLS });
  });

  it('export: ShareGPT gets function_call and observation turns, LLaMA-Factory style', () => {
    expect(render('sharegpt', toolConversation())).toEqual({
      conversations: [
        { from: 'human', value: 'Read the temperature data from my simulation file /data/simulation.h5.' },
        { from: 'function_call', value: '{"name":"open_file","arguments":{"path":"/data/simulation.h5","mode":"r"}}' },
        { from: 'observation', value: 'Opened /data/simulation.h5 in mode r' },
        { from: 'function_call', value: '[{"name":"read_full_dataset","arguments":{"path":"/results/temperature"}},{"name":"read_full_dataset","arguments":{"path":"/results/time"}}]' },
        { from: 'observation', value: '[291.2, 291.8, 292.5]\n</tool_response>\n<tool_response>\n[0, 1, 2]' },
        { from: 'gpt', value: 'The temperature rose from 291.2 K to 292.5 K over the first three steps.' },
      ],
      system: 'You can read HDF5 files with the tools given.',
      tools: JSON.stringify(HDF5_TOOLS.map((t) => t.function)),
    });
  });

  it('export: Alpaca refuses tool calls before the first byte, and its renderer refuses them too', () => {
    expect(contractFor('alpaca')).toBe(alpacaContract);
    expect(alpacaContract.problem(toolConversation())).toEqual({ path: '', message: expect.stringContaining('alpaca cannot hold') });
    expect(alpacaContract.problem(chunkConversationRecord)).toBeUndefined();
    expect(() => render('alpaca', toolConversation())).toThrow(UnrenderableRecord);
  });

  it('export: a knowledge answer renders in every chat format', () => {
    expect(render('chatml', knowledgeRecord)).toEqual({ messages: toMessages(knowledgeRecord) });
    expect(render('alpaca', knowledgeRecord)).toEqual({ instruction: knowledgeRecord.question, input: '', output: knowledgeRecord.response });
  });

  it('curate: judges pairs, CoT and conversations (tool calls shown), nothing else', () => {
    expect([qaRecord, cotRecord, chunkConversationRecord, toolConversation()].every(judgeable)).toBe(true);
    expect([knowledgeRecord, alpacaRecord, questionTurnsRecord, topicNodeRecord, { question: 'q', answer: 'a', reasoning: 5 }].some(judgeable)).toBe(false);
    expect(judgeText(cotRecord)).toBe(`Question: ${cotRecord.question}\nReasoning:\n1. Each commit costs an fsync.\n2. A batch shares one fsync among many tasks.\nAnswer: ${cotRecord.answer}`);
    const text = judgeText(toolConversation());
    expect(text).toContain('ASSISTANT: [calls open_file({"path":"/data/simulation.h5","mode":"r"})]');
    expect(text).toContain('ASSISTANT: Reading both series. [calls read_full_dataset({"path":"/results/temperature"})] [calls read_full_dataset({"path":"/results/time"})]');
    expect(text).toContain('TOOL: [0, 1, 2]');
    expect(questionText(toolConversation())).toBe('Read the temperature data from my simulation file /data/simulation.h5.');
  });
});

/** The tool conversation with one turn replaced (and any extra turns appended). */
function withTurn(index: number, turn: Rec, ...extra: Rec[]): Rec {
  const record = toolConversation();
  const messages: unknown[] = [...record.messages];
  messages[index] = turn;
  return { ...record, messages: [...messages, ...extra] };
}

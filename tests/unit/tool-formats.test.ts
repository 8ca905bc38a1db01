import { describe, expect, it } from 'vitest';
import { offeredTools, openaiLine, trlLine, xlamTool } from '../../services/export/tool-formats.js';

describe('function-calling line builders', () => {
  it('xlam writes each JSON Schema type under its Python name, optional when not required, with its default', () => {
    const tool = {
      type: 'function' as const,
      function: {
        name: 'plot',
        parameters: {
          type: 'object',
          properties: {
            scale: { type: 'number', description: 'Zoom' },
            grid: { type: 'boolean', default: false },
            style: { type: 'object' },
            points: { type: 'array', items: { type: 'array', items: { type: 'integer' } } },
            limit: { type: ['integer', 'null'] },
            anything: { description: 'No type given' },
          },
          required: ['scale', 'points'],
        },
      },
    };
    expect(xlamTool(tool)).toEqual({
      name: 'plot',
      description: '',
      parameters: {
        scale: { description: 'Zoom', type: 'float' },
        grid: { description: '', type: 'bool, optional', default: false },
        style: { description: '', type: 'dict, optional' },
        points: { description: '', type: 'List[List[int]]' },
        limit: { description: '', type: 'int, optional' },
        anything: { description: 'No type given', type: 'Any, optional' },
      },
    });
  });

  const call = (id: string, name: string, args: object) => ({ id, type: 'function' as const, function: { name, arguments: JSON.stringify(args) } });
  const messages = [
    { role: 'user', content: 'go', name: 'alice' },
    { role: 'assistant', content: '', tool_calls: [call('c1', 'a', { x: 1 })], weight: 0 },
    { role: 'tool', tool_call_id: 'c1', name: 'a', content: 'ok' },
    { role: 'assistant', content: 'done', weight: 1, reasoning_content: 'why' },
  ];

  it('openai keeps weight (0 or 1) on assistant turns and drops every key OpenAI does not know', () => {
    expect(openaiLine(messages, undefined)).toEqual({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', tool_calls: [call('c1', 'a', { x: 1 })], weight: 0 },
        { role: 'tool', tool_call_id: 'c1', content: 'ok' },
        { role: 'assistant', content: 'done', weight: 1 },
      ],
    });
  });

  it('trl names each tool result after the call it answers, by id', () => {
    const swapped = [messages[0], { role: 'assistant', content: null, tool_calls: [call('c1', 'a', {}), call('c2', 'b', {})] }, { role: 'tool', tool_call_id: 'c2', content: 'B' }, { role: 'tool', tool_call_id: 'c1', content: 'A' }];
    expect(trlLine(swapped, undefined).messages).toEqual([
      { role: 'user', content: 'go' },
      { role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'a', arguments: {} } }, { type: 'function', function: { name: 'b', arguments: {} } }] },
      { role: 'tool', name: 'b', content: 'B' },
      { role: 'tool', name: 'a', content: 'A' },
    ]);
  });

  it('used_only keeps the called tools in their offered order, and lists none when no offered tool is called', () => {
    const tools = ['b', 'a', 'c'].map((name) => ({ type: 'function' as const, function: { name } }));
    expect(offeredTools(tools, messages, 'used_only')?.map((t) => t.function.name)).toEqual(['a']);
    expect(offeredTools(tools, messages, 'all')).toBe(tools);
    expect(offeredTools(tools, [messages[0]], 'used_only')).toBeUndefined();
  });
});

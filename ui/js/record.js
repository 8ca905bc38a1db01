import { h, jsonBlock } from './dom.js';

/** Which fields hold a turn of a record that is not a messages list: [user, assistant]. */
const PAIRS = [
  ['question', 'answer'],
  ['instruction', 'output'],
  ['instruction', 'response'],
  ['prompt', 'completion'],
  ['input', 'output'],
];

/**
 * A record as a reader wants it: a conversation as chat turns (system, user, assistant, tool calls
 * and tool results), a pair as two turns, anything else as its JSON; the other fields below.
 */
export function recordView(data) {
  const turns = conversationOf(data);
  if (!turns) return jsonBlock(data);
  const used = new Set(turns.fields);
  const rest = Object.fromEntries(Object.entries(data).filter(([k]) => !used.has(k)));
  return h('div', { class: 'record' },
    h('div', { class: 'conversation' }, turns.messages.map(turnView)),
    Object.keys(rest).length ? h('details', { class: 'fields' }, h('summary', { text: `other fields (${Object.keys(rest).join(', ')})` }), jsonBlock(rest)) : null,
  );
}

function conversationOf(data) {
  if (typeof data !== 'object' || data === null) return null;
  const list = Array.isArray(data.messages) ? data.messages : Array.isArray(data.conversations) ? data.conversations : null;
  if (list && list.every((m) => typeof m === 'object' && m !== null)) {
    const messages = list.map((m) => ({ role: String(m.role ?? m.from ?? 'unknown'), content: m.content ?? m.value ?? '', tool_calls: m.tool_calls, name: m.name }));
    const fields = [Array.isArray(data.messages) ? 'messages' : 'conversations'];
    if (typeof data.system === 'string') {
      messages.unshift({ role: 'system', content: data.system });
      fields.push('system');
    }
    return { messages, fields };
  }
  for (const [user, assistant] of PAIRS) {
    if (typeof data[user] === 'string' && typeof data[assistant] === 'string') {
      const messages = [{ role: 'user', content: data[user] }, { role: 'assistant', content: data[assistant] }];
      if (typeof data.reasoning === 'string') messages.splice(1, 0, { role: 'reasoning', content: data.reasoning });
      return { messages, fields: [user, assistant, ...(typeof data.reasoning === 'string' ? ['reasoning'] : [])] };
    }
  }
  return null;
}

const ROLE_NAMES = { human: 'user', gpt: 'assistant', function_call: 'tool call', observation: 'tool' };

function turnView(m) {
  const role = ROLE_NAMES[m.role] ?? m.role;
  const text = typeof m.content === 'string' ? m.content : m.content === null || m.content === undefined ? '' : JSON.stringify(m.content, null, 2);
  return h('div', { class: `turn ${role.replace(/[^a-z_]/gi, '')}`, 'data-role': role },
    h('div', { class: 'role', text: m.name ? `${role} · ${m.name}` : role }),
    text ? h('div', { class: 'content', text }) : null,
    Array.isArray(m.tool_calls) ? m.tool_calls.map((c) => h('pre', { class: 'tool-call', text: toolCallText(c) })) : null,
  );
}

function toolCallText(call) {
  const fn = call?.function ?? call;
  const args = typeof fn?.arguments === 'string' ? fn.arguments : JSON.stringify(fn?.arguments ?? {}, null, 2);
  return `${fn?.name ?? 'tool'}(${args})`;
}

/** One line that says what a record is about, for lists. */
export function recordSummary(data) {
  const turns = conversationOf(data);
  const first = turns?.messages.find((m) => m.role !== 'system' && typeof m.content === 'string' && m.content);
  const text = first ? first.content : JSON.stringify(data);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

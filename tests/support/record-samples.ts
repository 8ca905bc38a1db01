/**
 * Records as Quarry's generators write them and as users import them, for the record-shape tests.
 * The tool-call conversation uses the HDF5 tools of the shared fixture (hdf5_tools.json, from the
 * iowarp agent-toolkit MCP server), converted to OpenAI function definitions.
 */

/** `open_file` and `read_full_dataset` of hdf5_tools.json, as OpenAI tools. */
export const HDF5_TOOLS = [
  {
    type: 'function',
    function: {
      name: 'open_file',
      description: 'Open an HDF5 file with lazy loading. Must be called before any other file operations.',
      parameters: {
        type: 'object',
        properties: { path: { type: 'string', description: 'Path to the HDF5 file' }, mode: { type: 'string', description: "Access mode: 'r', 'r+', 'w', 'a'", default: 'r' } },
        required: ['path'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'read_full_dataset',
      description: 'Read an entire dataset from the open HDF5 file.',
      parameters: { type: 'object', properties: { path: { type: 'string', description: 'Path to the dataset' } }, required: ['path'] },
    },
  },
];

/** A multi-step tool-use conversation: two rounds of calls (the second one parallel), then the answer. */
export const toolConversation = () => ({
  messages: [
    { role: 'system', content: 'You can read HDF5 files with the tools given.' },
    { role: 'user', content: 'Read the temperature data from my simulation file /data/simulation.h5.' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'open_file', arguments: '{"path":"/data/simulation.h5","mode":"r"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: 'Opened /data/simulation.h5 in mode r' },
    {
      role: 'assistant',
      content: 'Reading both series.',
      tool_calls: [
        { id: 'call_2', type: 'function', function: { name: 'read_full_dataset', arguments: '{"path":"/results/temperature"}' } },
        { id: 'call_3', type: 'function', function: { name: 'read_full_dataset', arguments: '{"path":"/results/time"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'call_2', content: '[291.2, 291.8, 292.5]' },
    { role: 'tool', tool_call_id: 'call_3', content: '[0, 1, 2]' },
    { role: 'assistant', content: 'The temperature rose from 291.2 K to 292.5 K over the first three steps.' },
  ],
  tools: HDF5_TOOLS,
  model: 'gpt-4o-mini',
});

/** services/generate/qa.task.ts */
export const qaRecord = { question: 'How does a worker claim a task?', answer: 'With FOR UPDATE SKIP LOCKED.', chunk_id: 'guide_section-1', source: 'guide.md', model: 'gpt-4o-mini' };

/** services/generate/cot.task.ts (ordered steps), enrich mode cot adds `enrichment_model`. */
export const cotRecord = {
  question: 'Why are outcomes committed in batches?',
  reasoning: ['Each commit costs an fsync.', 'A batch shares one fsync among many tasks.'],
  answer: 'To amortise the fsync.',
  chunk_id: 'guide_section-2',
  source: 'guide.md',
  model: 'gpt-4o-mini',
};

/** The CoT example of the generator design notes (seeds/002): steps without provenance. */
export const seedCotRecord = {
  question: 'Why would HDF5 be preferred over CSV for TB-scale datasets?',
  reasoning: [
    'CSV requires loading entire file into memory, impossible for TB-scale data',
    'HDF5 uses chunked storage allowing partial reads of specific regions',
    'HDF5 includes built-in compression reducing storage by 5-10×',
  ],
  answer: 'HDF5 is preferred because it enables efficient partial I/O through chunking, provides compression, and supports complex data organization.',
};

/** services/generate/topic-sample.task.ts, task cot with free-text reasoning. */
export const topicCotRecord = { question: 'What does VACUUM reclaim?', reasoning: 'Dead tuples stay until VACUUM marks their space reusable.', answer: 'The space of dead tuples.', topic_path: ['Postgres', 'Maintenance'], model: 'gpt-4o-mini' };

/** services/generate/conversation.task.ts with answers: messages and the linked turns. */
export const chunkConversationRecord = {
  messages: [
    { role: 'user', content: 'What is a lease?' },
    { role: 'assistant', content: 'A time-limited claim on a task.' },
    { role: 'user', content: 'What happens when it expires?' },
    { role: 'assistant', content: 'The task returns to the queue.' },
  ],
  turns: [
    { qa_id: 'guide_section-1_t1', turn_number: 1, query: 'What is a lease?', answer: 'A time-limited claim on a task.', builds_on: null },
    { qa_id: 'guide_section-1_t2', turn_number: 2, query: 'What happens when it expires?', answer: 'The task returns to the queue.', builds_on: 'guide_section-1_t1' },
  ],
  context: 'A worker holds a lease on each task it claims.',
  chunk_id: 'guide_section-1',
  source: 'guide.md',
  model: 'gpt-4o-mini',
};

/** services/generate/conversation.task.ts with answers: false (an evaluation set). */
export const questionTurnsRecord = {
  turns: [
    { qa_id: 'guide_section-1_t1', turn_number: 1, query: 'What is a lease?', builds_on: null },
    { qa_id: 'guide_section-1_t2', turn_number: 2, query: 'What happens when it expires?', builds_on: 'guide_section-1_t1' },
  ],
  context: 'A worker holds a lease on each task it claims.',
  chunk_id: 'guide_section-1',
  source: 'guide.md',
  model: 'gpt-4o-mini',
};

/** services/generate/topic-sample.task.ts, DeepFabric cot conversation with structured reasoning and the system turn. */
export const topicConversationRecord = {
  messages: [
    { role: 'system', content: 'You are a baker.' },
    { role: 'user', content: 'Why does dough need to rest?' },
    { role: 'assistant', content: 'Resting relaxes the gluten so the dough is easier to shape.' },
  ],
  topic_path: ['Cooking', 'Bread'],
  reasoning: { style: 'structured', content: [{ step_number: 1, thought: 'Gluten tightens when kneaded.', action: 'explain' }] },
  model: 'gpt-4o-mini',
};

/** services/knowledge/knowledge.tasks.ts, a summary flow's kept answer. */
export const knowledgeRecord = {
  summarized_document: 'Leases expire after thirty seconds; the tasks return to the queue.',
  question: 'When do leases expire?',
  response: 'Thirty seconds after the worker stops heartbeating.',
  raw_document: '# Lease recovery\n\nA worker holds a lease on each task it claims.',
  domain: 'distributed systems',
  faithfulness_judgment: 'YES',
  faithfulness_explanation: 'Stated in the document.',
};

/** services/topics: a built tree's node (graphs have no `path`). */
export const topicNodeRecord = { id: '3f1a9c0b2d4e5f60', topic: 'Maintenance', depth: 1, parents: ['0a1b2c3d4e5f6071'], topic_hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', path: ['Postgres', 'Maintenance'] };

/** Imports. */
export const alpacaRecord = { instruction: 'Translate to French', input: 'hello', output: 'bonjour', system: 'Be brief.' };
export const shareGptRecord = { conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello!' }], system: 'Be kind.' };

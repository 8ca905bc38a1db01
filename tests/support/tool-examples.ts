import { Value } from '@sinclair/typebox/value';
import { exampleRecord } from '../../services/tools/generate/example-record.js';
import type { Tool } from '../../services/tools/tool.js';
import { ToolExample } from '../../services/tools/tool-example.js';
import { HDF5_TOOLS } from './record-samples.js';

/**
 * Tool-use examples as `POST /v1/tools/generate` stores them (`ToolExample`, built by its
 * `exampleRecord`), checked against the schema, so the export tests read what the generator writes.
 */

/** The HDF5 tools plus one whose schema has what xLAM and the validators must carry: an integer with a default, an enum, an array. */
export const EXAMPLE_TOOLS = [
  ...HDF5_TOOLS,
  {
    type: 'function' as const,
    function: {
      name: 'get_attributes',
      description: 'Read the attributes of a group or dataset.',
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'Path inside the file' },
          names: { type: 'array', items: { type: 'string' }, description: 'Only these attributes' },
          limit: { type: 'integer', minimum: 1, default: 10, description: 'At most this many' },
          format: { type: 'string', enum: ['json', 'text'], description: 'How values are written' },
        },
        required: ['path', 'format'],
        additionalProperties: false,
      },
    },
  },
];

interface Call {
  tool: string;
  args: Record<string, unknown>;
  result: unknown;
}

/** The tools as the tool-definition parser normalises them (what `exampleRecord` documents each example with). */
const OFFERED: Tool[] = EXAMPLE_TOOLS.map((t) => ({ ...t.function, category: 'hdf5', complexity: 'simple', examples: [], origin: { format: 'openai' } }));

let ids = 0;

/**
 * A verified example, built by the generator's own `exampleRecord`: the system guidance, the user's
 * instruction, steps of calls (several in a step are parallel) with their results, the answer.
 */
export function toolExample(instruction: string, steps: Array<{ thought: string; calls: Call[] }>, finalAnswer: string, systemPrompt = 'You can call the tools given.'): ToolExample {
  const withIds = steps.map((s) => ({ thought: s.thought, calls: s.calls.map((c) => ({ id: `call_${++ids}`, ...c })) }));
  const example = exampleRecord({
    systemPrompt,
    instruction,
    scenario: 'export tests',
    difficulty: steps.length > 1 ? 'hard' : 'easy',
    mode: steps.length > 1 ? 'multi' : 'single',
    steps: withIds,
    finalAnswer,
    offered: OFFERED,
    verification: { format: { passed: true }, execution: { passed: true, mode: 'simulated' }, semantic: { passed: true, confidence: 0.9, issues: [] } },
  });
  if (!Value.Check(ToolExample, example)) throw new Error(`not a ToolExample: ${JSON.stringify([...Value.Errors(ToolExample, example)][0])}`);
  return example;
}

/** One step, one call; the assistant turn that calls holds no text. */
export const singleStep = () => toolExample('Open /data/run1.h5 read-only.', [{ thought: '', calls: [{ tool: 'open_file', args: { path: '/data/run1.h5', mode: 'r' }, result: { opened: true } }] }], 'The file is open.');

/** Two steps, the second two parallel calls of one tool; with a system turn. */
export const multiStep = () =>
  toolExample(
    'Read the temperature and time series from /data/simulation.h5.',
    [
      { thought: 'Open the file first.', calls: [{ tool: 'open_file', args: { path: '/data/simulation.h5' }, result: 'Opened /data/simulation.h5 in mode r' }] },
      {
        thought: 'Reading both series.',
        calls: [
          { tool: 'read_full_dataset', args: { path: '/results/temperature' }, result: [291.2, 291.8, 292.5] },
          { tool: 'read_full_dataset', args: { path: '/results/time' }, result: [0, 1, 2] },
        ],
      },
    ],
    'The temperature rose from 291.2 K to 292.5 K over the first three steps.',
    'You can read HDF5 files with the tools given.',
  );

/** One step, two parallel calls of different tools. */
export const parallelCalls = () =>
  toolExample(
    'List the units and read the pressure of /results/pressure.',
    [
      {
        thought: 'Both at once.',
        calls: [
          { tool: 'get_attributes', args: { path: '/results/pressure', names: ['units'], limit: 5, format: 'json' }, result: { units: 'Pa' } },
          { tool: 'read_full_dataset', args: { path: '/results/pressure' }, result: [101325, 101300] },
        ],
      },
    ],
    'The pressure, in Pa, fell from 101325 to 101300.',
  );

/** A call as each format writes it, in order: name and arguments (an object, or JSON text where the format keeps text). */
export interface ExportedCall {
  name: string;
  args: unknown;
}

type Line = Record<string, any>;

/** Every tool call of one exported line, read the way `format`'s trainer reads it. */
export function callsIn(format: string, line: Line): ExportedCall[] {
  if (format === 'xlam') return JSON.parse(line.answers).map((a: Line) => ({ name: a.name, args: a.arguments }));
  if (format === 'sharegpt') {
    return line.conversations
      .filter((t: Line) => t.from === 'function_call')
      .flatMap((t: Line) => [JSON.parse(t.value)].flat())
      .map((c: Line) => ({ name: c.name, args: c.arguments }));
  }
  return line.messages.flatMap((m: Line) => (m.tool_calls ?? []).map((c: Line) => ({ name: c.function.name, args: c.function.arguments })));
}

/** The tools a line lists, by name, whatever its format writes them as. */
export function toolNamesIn(format: string, line: Line): string[] {
  if (format === 'xlam' || format === 'sharegpt') return line.tools === undefined ? [] : JSON.parse(line.tools).map((t: Line) => t.name);
  return (line.tools ?? []).map((t: Line) => t.function.name);
}

import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { findToolSet, insertToolSet, listToolSets, type ToolSetListRow, type ToolSetRow } from '../../db/tool-sets.repository.js';
import { AppError, invalid, notFound } from '../../src/errors.js';
import { newId } from '../../src/ids.js';
import type { JobDeps } from '../jobs/job-deps.js';
import { parseDefinition } from './definitions/parse-definition.js';
import { Tool, type ToolFormat } from './tool.js';
import { ToolFormatSchema, ToolSummary, type ToolSetView } from './tool-set.js';

export { ToolDefinition, ToolsInput } from './tools-input.js';

const storedTools = TypeCompiler.Compile(Type.Array(Tool));
const storedSummary = TypeCompiler.Compile(ToolSummary);
const storedFormat = TypeCompiler.Compile(ToolFormatSchema);

/** A stored row read back through the same schemas it was written with: json gives `unknown`. */
function listedOf(row: ToolSetListRow): Omit<ToolSetView, 'tools'> {
  if (!storedSummary.Check(row.summary) || !storedFormat.Check(row.format)) unreadable(row.id);
  return { id: row.id, name: row.name, format: row.format, summary: row.summary, created_at: row.createdAt.toISOString() };
}

function toolSetOf(row: ToolSetRow): ToolSetView {
  if (!storedTools.Check(row.tools)) unreadable(row.id);
  return { ...listedOf(row), tools: row.tools };
}

function unreadable(id: string): never {
  throw new AppError('internal', `tool set ${id} is stored in a shape this version does not read`);
}

export interface CreateToolSetInput {
  name?: string;
  format?: ToolFormat;
  definition: unknown;
}

/** POST /v1/tools: the definition detected, normalised, validated and stored with its summary. */
export async function createToolSet(deps: Pick<JobDeps, 'database'>, owner: string, input: CreateToolSetInput): Promise<ToolSetView> {
  const parsed = await parseDefinition(input.definition, { format: input.format, field: 'definition' });
  const row = await insertToolSet(deps.database.db, {
    id: newId('tl'),
    owner,
    name: input.name ?? parsed.title ?? `${parsed.format} tools`,
    format: parsed.format,
    tools: parsed.tools,
    summary: parsed.summary,
  });
  return toolSetOf(row);
}

export async function getToolSet(deps: Pick<JobDeps, 'database'>, owner: string, id: string): Promise<ToolSetView> {
  const row = await findToolSet(deps.database.db, id, owner);
  if (!row) throw notFound('tool set', id);
  return toolSetOf(row);
}

/** GET /v1/tools: newest first without the tools themselves; `next_before` pages on (null on the last page). */
export async function listToolSetViews(deps: Pick<JobDeps, 'database'>, owner: string, query: { limit?: number; before?: string }) {
  const limit = query.limit ?? 50;
  const rows = await listToolSets(deps.database.db, owner, { limit: limit + 1, before: query.before });
  const page = rows.slice(0, limit).map(listedOf);
  return { tool_sets: page, next_before: rows.length > limit ? page[page.length - 1].id : null };
}

/**
 * A job's tools: the stored set `tools_id` names, or the inline `tools` definition parsed as
 * POST /v1/tools would (its 400s name `tools`). Exactly one of the two, else a 400 naming the field.
 */
export async function resolveTools(
  deps: Pick<JobDeps, 'database'>,
  owner: string,
  input: { tools_id?: string; tools?: unknown; format?: ToolFormat },
): Promise<{ tools: Tool[]; toolSetId?: string; warnings: string[] }> {
  if (input.tools_id !== undefined && input.tools !== undefined) throw invalid('tools', 'give tools_id or tools, not both');
  if (input.tools_id !== undefined) {
    const row = await findToolSet(deps.database.db, input.tools_id, owner);
    if (!row) throw invalid('tools_id', `no tool set ${input.tools_id}`);
    const set = toolSetOf(row);
    return { tools: set.tools, toolSetId: set.id, warnings: set.summary.warnings };
  }
  if (input.tools === undefined) throw invalid('tools_id', 'give tools_id (a set stored with POST /v1/tools) or tools (an inline definition)');
  const parsed = await parseDefinition(input.tools, { format: input.format, field: 'tools' });
  return { tools: parsed.tools, warnings: parsed.summary.warnings };
}

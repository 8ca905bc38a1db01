import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { NewTask } from '../../db/runs.repository.js';
import { LlmError } from '../../src/llm/llm.errors.js';
import type { TaskContext, TaskHandler, WorkerTaskContext } from '../../src/queue/task-handler.js';
import { refusedBy } from '../export/render-contract.js';
import type { HandlerDeps } from './job-deps.js';

/**
 * A payload as a planner writes it: `dataset_id` may be left out, the run fills in its own
 * dataset when the task is inserted (db/runs.repository.ts, `taskDatasetId`).
 */
export type PlannedPayload<S extends TObject> = Omit<Static<S>, 'dataset_id'> & { dataset_id?: string };

/** One kind of task a worker runs, as the registry lists it (the payload type is the module's business). */
export interface TaskDef {
  kind: string;
  bind(deps: HandlerDeps): TaskHandler;
}

/**
 * A task kind whose payload type comes from its schema (graphile-worker's typed task list): the
 * planner is checked against the schema when tasks are planned, the handler receives the payload
 * checked and typed, and nothing in between casts.
 */
export interface TypedTask<S extends TObject> extends TaskDef {
  schema: S;
  /** A task to queue (or spawn); a payload that does not fit the schema is a bug, thrown here. */
  plan(key: string, payload: PlannedPayload<S>, maxAttempts?: number): NewTask;
}

export function defineTask<S extends TObject>(
  kind: string,
  schema: S,
  make: (deps: HandlerDeps) => (ctx: TaskContext<Static<S>>) => ReturnType<TaskHandler>,
): TypedTask<S> {
  const planned: TypeCheck<TSchema> = TypeCompiler.Compile(Type.Composite([Type.Omit(schema, ['dataset_id']), Type.Object({ dataset_id: Type.Optional(Type.String()) })]));
  const queued: TypeCheck<S> = TypeCompiler.Compile(schema);
  return {
    kind,
    schema,
    plan(key, payload, maxAttempts) {
      if (!planned.Check(payload)) throw new Error(`task ${kind} ${key}: the payload does not fit its schema: ${problems(planned, payload)}`);
      return { key, kind, payload, ...(maxAttempts !== undefined ? { maxAttempts } : {}) };
    },
    bind(deps) {
      const handler = make(deps);
      return (ctx: WorkerTaskContext) => {
        const payload = ctx.task.payload;
        // A payload written by another version of Quarry (or by hand) fails its task, never a handler halfway.
        if (!queued.Check(payload)) throw new LlmError('api', `task ${kind} ${ctx.task.key}: its payload does not fit the schema: ${problems(queued, payload)}`);
        // Each record is stored with the formats that refuse it, so an export knows without reading it.
        return handler({ ...ctx, payload }).then((result) => ({ ...result, records: result.records.map((r) => ({ ...r, unrenderable: refusedBy(r.data) })) }));
      };
    },
  };
}

function problems(check: TypeCheck<TSchema>, value: unknown): string {
  return [...check.Errors(value)].slice(0, 3).map((e) => `${e.path || '/'} ${e.message}`).join('; ');
}

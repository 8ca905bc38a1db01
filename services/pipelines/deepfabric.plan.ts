import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { variantErrors } from '../../src/discriminated-union.js';
import { AppError, type ErrorDetail } from '../../src/errors.js';
import { ID_PATTERN } from '../../src/ids.js';
import { KEY_PROVIDERS, type ProviderRegistry } from '../../src/llm/providers.js';
import type { JobDeps } from '../jobs/job-deps.js';
import { LIMITS } from '../limits.js';
import { fromDeepFabric, type DeepFabricOverrides } from './deepfabric.js';
import { planPipeline } from './pipeline.service.js';
import { PipelineSpec } from './pipeline.spec.js';

export const DeepFabricOverridesQuery = Type.Object(
  {
    provider: Type.Optional(Type.String({ minLength: 1, description: 'A configured provider for every stage (GET /v1/providers), e.g. when the config names one this server lacks' })),
    model: Type.Optional(Type.String({ minLength: 1 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    degree: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
    depth: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    num_steps: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.numSamples, description: `Steps of batch_size samples; at most ${LIMITS.numSamples.toLocaleString('en-US')} samples in all` })),
    num_samples: Type.Optional(
      Type.String({
        pattern: '^([0-9]+|auto|[0-9]+(\\.[0-9]+)?%)$',
        maxLength: 16,
        description: `integer, auto or N% (at most ${LIMITS.samplePercent}%); at most ${LIMITS.numSamples.toLocaleString('en-US')} samples, checked against the most topics the config can build`,
      }),
    ),
    batch_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    sys_msg: Type.Optional(Type.Boolean({ description: 'true: the records start with the dataset system prompt (output.system_prompt, v3 dataset_system_prompt); false: no system message' })),
    mode: Type.Optional(Type.Union([Type.Literal('tree'), Type.Literal('graph')])),
    tools_id: Type.Optional(
      Type.String({
        pattern: ID_PATTERN('tl'),
        description: 'A tool set (POST /v1/tools) giving the definitions a config keeps in a Spin service (components.mock, tools_endpoint, custom) or v3 tool_registry_path; the teacher plays those tools',
      }),
    ),
  },
  { additionalProperties: false, description: 'DeepFabric YAML only: the overrides of `deepfabric generate`' },
);

const checkPipeline = TypeCompiler.Compile(PipelineSpec);

/** A field of the translated spec named as the config (or query string) set it: the longest known prefix is replaced. */
function namer(origins: Record<string, string>) {
  return (field: string) => {
    for (let at = field; at; at = at.includes('.') ? at.slice(0, at.lastIndexOf('.')) : '') {
      if (origins[at]) return origins[at] + field.slice(at.length);
    }
    return field;
  };
}

const renamed = (err: AppError, name: (field: string) => string) => {
  const details = err.details.map((d) => ({ ...d, field: d.field && name(d.field) }));
  return new AppError(err.code, details.length ? details.map((d) => `${d.field}: ${d.message}`).join('; ') : err.message, details);
};

/**
 * A provider the config names that this server lacks: the setting that named it, the variable that
 * would configure it, and the override that picks another.
 */
function providerProblems(spec: PipelineSpec, providers: ProviderRegistry, name: (field: string) => string): ErrorDetail[] {
  const configured = providers.list().map((p) => p.name).join(', ');
  const seen = new Set<string>();
  const details: ErrorDetail[] = [];
  for (const stage of ['topics', 'generate', 'tools'] as const) {
    const provider = spec[stage]?.llm?.provider;
    const field = name(`${stage}.llm.provider`);
    if (!provider || providers.get(provider) || seen.has(field)) continue;
    seen.add(field);
    const shortcut = KEY_PROVIDERS.find((p) => p.name === provider);
    const configure = shortcut
      ? `set ${shortcut.keyEnv} on the server (${shortcut.baseUrlEnv} for another endpoint)`
      : provider === 'ollama'
        ? 'set OLLAMA_BASE_URL on the server'
        : `add "${provider}" to the server's PROVIDERS_FILE`;
    details.push({ field, message: `provider "${provider}" is not configured on this server: ${configure}, or run the config with ?provider=<name> (configured: ${configured})` });
  }
  return details;
}

/**
 * A DeepFabric config, translated and validated like a JSON pipeline, then planned as one. Every
 * problem names the YAML setting (or query parameter) behind it; the report lists what was ignored
 * and why.
 */
export async function planDeepFabric(deps: Pick<JobDeps, 'database' | 'providers' | 'toolsHttpAllow'>, input: { owner: string; yaml: string; overrides: DeepFabricOverrides }) {
  const { spec, layout, ignored, notes, origins } = fromDeepFabric(input.yaml, input.overrides);
  const name = namer(origins);
  const errors = [...variantErrors(checkPipeline.Errors(spec))];
  if (errors.length) {
    // The translation checks every setting with a choice of forms; a union error left over still says what is wrong in words.
    const named = errors.map((e) => ({ field: name(e.path.slice(1).replace(/\//g, '.')), message: e.message === 'Expected union value' ? 'is not one of the values this setting takes' : e.message }));
    // One setting can feed both stages (the shared llm): said once.
    const details = named.filter((d, i) => named.findIndex((x) => x.field === d.field && x.message === d.message) === i).slice(0, 20);
    throw new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
  }
  const unconfigured = providerProblems(spec, deps.providers, name);
  if (unconfigured.length) throw new AppError('validation_failed', unconfigured.map((d) => `${d.field}: ${d.message}`).join('; '), unconfigured);
  try {
    return await planPipeline(deps, { owner: input.owner, spec, report: { deepfabric: { layout, ignored, notes } } });
  } catch (err) {
    throw err instanceof AppError ? renamed(err, name) : err;
  }
}

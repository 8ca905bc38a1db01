import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export interface PromptTemplate {
  id: string;
  version: number;
  system: string;
  user: string;
}

const promptsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'prompts');

/** Loads every `prompts/*.yaml` once; a prompt is addressed by its `id` and carries its version into records. */
export function loadPrompts(dir = promptsDir): Map<string, PromptTemplate> {
  const prompts = new Map<string, PromptTemplate>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const p = parseYaml(readFileSync(join(dir, file), 'utf8')) as PromptTemplate;
    if (!p?.id || !p.user) throw new Error(`prompt file ${file} needs an id and a user template`);
    prompts.set(p.id, p);
  }
  return prompts;
}

/** `{{name}}` substitution; a missing variable is a bug in the caller, so it throws. */
export function render(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => {
    if (!(name in vars)) throw new Error(`prompt variable ${name} is missing`);
    return String(vars[name]);
  });
}

/** A prompt by id; a missing one is a broken install (prompts/ is part of the package), so it throws at startup. */
export function requirePrompt(prompts: Map<string, PromptTemplate>, id: string): PromptTemplate {
  const prompt = prompts.get(id);
  if (!prompt) throw new Error(`prompt ${id} is missing from prompts/`);
  return prompt;
}

/**
 * Stage registry: the `type:` name used in configuration and `tapline stage <name>` -> a
 * factory that validates the stage's own config and returns its definition. Each folder in
 * pipelines/stages exports `registration` from its index.ts; folders are discovered, so adding
 * a stage touches no shared file.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StageDefinition } from './runtime/types';
import type { TaplineConfig } from '../lib/config';
import { ZodError } from 'zod';
import { TaplineError } from '../lib/errors';
import { fuseStages, FUSE_SEPARATOR } from './runtime/fuse';

export interface StageRegistration {
  name: string;
  description: string;
  /** config: the stage's own section (stages.<name>); global: the whole configuration (topics). */
  create(config: Record<string, unknown>, global: TaplineConfig): StageDefinition<never>;
}

const STAGES_DIR = path.join(__dirname, 'stages');
let cache: Record<string, StageRegistration> | null = null;

export function stageRegistry(): Record<string, StageRegistration> {
  if (cache) return cache;
  cache = {};
  for (const dir of fs.readdirSync(STAGES_DIR, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    const index = ['index.ts', 'index.js'].map((f) => path.join(STAGES_DIR, dir.name, f)).find((f) => fs.existsSync(f));
    if (!index) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const reg = (require(index) as { registration?: StageRegistration }).registration;
    if (reg) cache[reg.name] = reg;
  }
  return cache;
}

/** Kept for callers that only need the names. */
export const STAGES: Record<string, StageRegistration> = new Proxy({}, {
  get: (_t, k: string) => stageRegistry()[k],
  has: (_t, k: string) => k in stageRegistry(),
  ownKeys: () => Object.keys(stageRegistry()),
  getOwnPropertyDescriptor: (_t, k: string) => (k in stageRegistry() ? { enumerable: true, configurable: true, value: stageRegistry()[k] } : undefined),
});

/**
 * `type` is a registered stage, or stages joined by `+` (e.g. `aggregate+metrics`) to run fused
 * in one task: one decode of the shared input for all of them (runtime/fuse.ts).
 */
export function createStage(type: string, global: TaplineConfig): StageDefinition<never> {
  if (type.includes(FUSE_SEPARATOR)) return fuseStages(type.split(FUSE_SEPARATOR).map((t) => createStage(t, global)));
  const r = stageRegistry()[type];
  if (!r) throw new TaplineError('CONFIG_INVALID', 'stages', `unknown stage type "${type}" (known: ${Object.keys(stageRegistry()).join(', ')})`);
  try {
    return r.create(global.stages[type] ?? {}, global);
  } catch (e) {
    if (e instanceof ZodError) {
      throw new TaplineError('CONFIG_INVALID', type, `stages.${type} is invalid: ${e.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    throw e;
  }
}

/** Validates every stages.<name> section of a configuration against its stage's own schema. */
export function validateStageSections(global: TaplineConfig): void {
  for (const name of Object.keys(global.stages)) createStage(name, global);
}

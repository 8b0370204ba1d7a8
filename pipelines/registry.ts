/**
 * Stage registry: maps the `type:` name used in configuration and `tapline stage <name>` to a
 * factory that validates the stage's own config and returns its definition.
 */
import type { StageDefinition } from './runtime/types';
import { aggregateStage } from './stages/aggregate';

export type StageFactory = (config: Record<string, unknown>) => StageDefinition<never>;

export const STAGES: Record<string, StageFactory> = {
  aggregate: (c) => aggregateStage(c) as unknown as StageDefinition<never>,
};

export function stageFactory(type: string): StageFactory {
  const f = STAGES[type];
  if (!f) throw new Error(`unknown stage type "${type}" (known: ${Object.keys(STAGES).join(', ')})`);
  return f;
}

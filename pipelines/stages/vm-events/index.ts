/**
 * Stage `vm-events`: migration candidates of the identify tasks -> one VmEvent per move.
 * Input tapline.vm-events.candidates.v1, output tapline.vm-events.v1 (both VmEvent, keyed by VM id).
 */
import type { VmEvent } from '../../../schemas/vm-event';
import type { StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { VmEventsConfigSchema, type VmEventsConfig } from './config';
import { VmEventsProcessor, VM_LAST_STORE, type VmLast } from './vm-events';

export { VmEventsConfigSchema, type VmEventsConfig, VmEventsProcessor, VM_LAST_STORE, type VmLast };

export function vmEventsStage(raw: Partial<VmEventsConfig> = {}): StageDefinition<VmEvent> {
  const cfg = VmEventsConfigSchema.parse(raw);
  return {
    name: 'vm-events',
    input: { topic: cfg.inputTopic, schema: 'vm-event.v1' },
    outputs: { [cfg.outputTopic]: 'vm-event.v1' },
    stores: [VM_LAST_STORE],
    timestampOf: (e) => BigInt(e.at),
    create: () => new VmEventsProcessor(cfg),
  };
}

export const registration: StageRegistration = {
  name: 'vm-events',
  description: 'one VM migration event per move from the identify tasks\' candidates (keyed by VM id)',
  create: (c) => vmEventsStage(c as Partial<VmEventsConfig>) as unknown as StageDefinition<never>,
};

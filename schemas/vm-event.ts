/**
 * TypeScript view of schemas/vm-event.v1.avsc: candidates from the `identify` stage on
 * tapline.vm-events.candidates.v1, one event per move from the `vm-events` stage on tapline.vm-events.v1.
 */
import type { Long } from './types';

export const VM_EVENT_SCHEMA = 'vm-event.v1';
export const VM_EVENT_TOPIC = 'tapline.vm-events.v1';
export const VM_EVENT_CANDIDATES_TOPIC = 'tapline.vm-events.candidates.v1';

export interface VmEvent {
  type: 'migration';
  vm: string;
  vm_name: string | null;
  from_host: string;
  to_host: string;
  at: Long;
  source: 'inventory' | 'traffic';
  observation_point: string | null;
}

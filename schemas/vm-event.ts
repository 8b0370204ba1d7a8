/** TypeScript view of schemas/vm-event.v1.avsc (topic tapline.vm-events.v1), written by the `identify` stage. */
import type { Long } from './types';

export const VM_EVENT_SCHEMA = 'vm-event.v1';
export const VM_EVENT_TOPIC = 'tapline.vm-events.v1';

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

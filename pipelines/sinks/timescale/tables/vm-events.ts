/** tapline.vm-events.v1 (VmEvent, vm-events stage: one event per move) -> vm_events. */
import { simpleSpec } from './simple';

export const vmEvents = simpleSpec('vm_events', 'vm-event.v1', 'tapline.vm-events.v1', ['vm', 'type', 'at']);

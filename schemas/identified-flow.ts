/** TypeScript view of schemas/identified-flow.v1.avsc (topic tapline.flows.identified.v1), written by the `identify` stage. */
import type { FlowWindow } from './types';

export const IDENTIFIED_FLOW_SCHEMA = 'identified-flow.v1';
export const IDENTIFIED_FLOW_TOPIC = 'tapline.flows.identified.v1';

export type TrafficClass = 'intra_host' | 'inter_host' | 'external';

export interface IdentifiedFlow extends FlowWindow {
  observed_host: string | null;
  a_vm: string | null;
  a_name: string | null;
  a_host: string | null;
  a_tenant: string | null;
  b_vm: string | null;
  b_name: string | null;
  b_host: string | null;
  b_tenant: string | null;
  traffic_class: TrafficClass;
}

/** tapline.flows.identified.v1 (IdentifiedFlow, identify stage) -> identified_flows: a flow window with its VMs. */
import { simpleSpec } from './simple';

export const identifiedFlows = simpleSpec('identified_flows', 'identified-flow.v1', 'tapline.flows.identified.v1', ['flow_key', 'observation_point', 'window_start']);

/** tapline.flows.v1 (FlowWindow, aggregate stage) -> flow_windows: one row per flow, observation point and window. */
import { simpleSpec } from './simple';

export const flowWindows = simpleSpec('flow_windows', 'flow-window.v1', 'tapline.flows.v1', ['flow_key', 'observation_point', 'window_start']);

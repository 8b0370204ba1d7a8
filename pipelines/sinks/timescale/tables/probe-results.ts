/** tapline.probes.v1 (ProbeResult) -> probe_results: one row per prober, target, kind and interval. */
import { simpleSpec } from './simple';

export const probeResults = simpleSpec('probe_results', 'probe-result.v1', 'tapline.probes.v1', ['prober', 'target', 'kind', 'interval_start']);

/** tapline.capture-health.v1 (CaptureHealth) -> capture_health: one row per report of a live capture. */
import { simpleSpec } from './simple';

export const captureHealth = simpleSpec('capture_health', 'capture-health.v1', 'tapline.capture-health.v1', ['observation_point', 'host', 'ts']);

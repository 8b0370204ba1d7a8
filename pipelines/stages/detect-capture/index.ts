/**
 * Stage `detect-capture`: capture health (tapline.capture-health.v1, keyed by observation
 * point) -> capture_drops alerts on tapline.alerts.v1: drops above a ratio, a capture that is
 * down, a capture that fell silent. See docs/detectors.md.
 */
import type { CaptureHealth } from '../../../schemas/capture-health';
import type { StageDefinition } from '../../runtime/types';
import type { StageRegistration } from '../../registry';
import { ALERTS_STORE } from '../../alerting/lifecycle';
import { DetectCaptureConfigSchema, type DetectCaptureConfig } from './config';
import { CaptureProcessor, CAPTURE_LAST_STORE } from './capture';

export { DetectCaptureConfigSchema, type DetectCaptureConfig, CaptureProcessor };

export function detectCaptureStage(raw: Record<string, unknown> = {}): StageDefinition<CaptureHealth> {
  const cfg = DetectCaptureConfigSchema.parse(raw);
  return {
    name: 'detect-capture',
    input: { topic: cfg.inputTopic, schema: 'capture-health.v1' },
    outputs: { [cfg.outputTopic]: 'alert.v1' },
    stores: [ALERTS_STORE, CAPTURE_LAST_STORE],
    timestampOf: (h) => BigInt(h.ts_ns),
    create: () => new CaptureProcessor(cfg),
  };
}

export const registration: StageRegistration = {
  name: 'detect-capture',
  description: 'alerts: capture drops above a threshold, captures down or silent (the monitor going blind)',
  create: (c) => detectCaptureStage(c) as unknown as StageDefinition<never>,
};

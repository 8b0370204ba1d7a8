/** Config pieces every detector stage shares (zod, documented with .describe()). */
import { z } from 'zod';
import { LifecycleConfigSchema } from './lifecycle';

export const ALERTS_TOPIC_DEFAULT = 'tapline.alerts.v1';

export const outputTopic = () => z.string().default(ALERTS_TOPIC_DEFAULT).describe('alerts topic (Alert v1, keyed by dedup_key)');
export const lifecycle = () => LifecycleConfigSchema.default({}).describe('open/update/resolve policy (hysteresis), see pipelines/alerting/lifecycle.ts');
export const windowMs = (d: number) => z.number().int().min(1_000).max(86_400_000).default(d)
  .describe('evaluation window (event time); a multiple of the upstream window size');
// No upper bound: a replay of captures years apart (the corpus) sets it to their span. The
// windows held open cost state: lateness / window x subjects accumulators.
export const allowedLatenessMs = (d: number) => z.number().int().min(0).default(d)
  .describe('a window is evaluated once stream time is this far past its end; later records are counted as dropped{reason="late"}. '
    + 'Replays (tapline replay, npm run demo) set it to the captures\' span: every window is then evaluated in order at the end of the input');
export const criticalFactor = () => z.number().min(1).default(4).describe('value >= factor x threshold makes the alert critical (else warning)');
export const clearRatio = () => z.number().min(0).max(1).default(0.8)
  .describe('hysteresis in value: an open alert still counts as breaching while value >= clearRatio x threshold');

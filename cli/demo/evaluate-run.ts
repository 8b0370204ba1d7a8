/**
 * Replays a recorded dataset through the whole pipeline (detectors configured with the
 * scenario's learning period) and scores the alerts against its ground truth: what the demo
 * prints and what test/anomaly-*.test.ts assert.
 */
import type { Pool } from 'pg';
import type { TaplineConfig } from '../../lib/config';
import type { KafkaClient } from '../../lib/kafka';
import { ALERT_SCHEMA, ALERT_TOPIC, type Alert } from '../../schemas/alert';
import { stageRegistry } from '../../pipelines/registry';
import { replayPipeline, type PipelineReplayOptions, type PipelineReplayResult } from '../../pipelines/replay';
import { scenarioStageConfig, type Dataset } from './dataset';
import { DETECTOR_WINDOW_MS, evaluate, formatEvaluation, type Evaluation } from './evaluate';
import { readRange } from './read-range';

export interface EvaluatedRun { replay: PipelineReplayResult; alerts: Alert[]; evaluation: Evaluation | null; report: string }

/** Stages that write alerts: the detectors (discovered, so new ones are evaluated too). */
export function detectorStages(cfg: TaplineConfig): string[] {
  return Object.values(stageRegistry()).filter((r) => {
    try {
      return Object.values(r.create(cfg.stages[r.name] ?? {}, cfg).outputs).includes(ALERT_SCHEMA);
    } catch {
      return false;
    }
  }).map((r) => r.name).sort();
}

export function withScenarioConfig(cfg: TaplineConfig, ds: Dataset): TaplineConfig {
  if (!ds.groundTruth) return cfg;
  const extra = scenarioStageConfig(ds.groundTruth);
  const stages = { ...cfg.stages };
  for (const [k, v] of Object.entries(extra)) stages[k] = { ...v, ...(cfg.stages[k] ?? {}) };
  return { ...cfg, stages };
}

export async function replayAndEvaluate(cfg: TaplineConfig, kafka: KafkaClient, pool: Pool | null, ds: Dataset,
  opts: PipelineReplayOptions = {}): Promise<EvaluatedRun> {
  const runCfg = withScenarioConfig(cfg, ds);
  const replay = await replayPipeline(runCfg, kafka, pool, ds.replay, opts);
  const alerts = await readRange<Alert>(kafka, ALERT_TOPIC, replay.ranges.get(ALERT_TOPIC), ALERT_SCHEMA);
  if (!ds.groundTruth) return { replay, alerts, evaluation: null, report: `${alerts.length} alert records (no ground truth to score them against)${droppedReport(replay)}` };
  const windowNs = (d: string) => BigInt((runCfg.stages[d]?.windowMs as number | undefined) ?? DETECTOR_WINDOW_MS[d] ?? 10_000) * 1_000_000n;
  const evaluation = evaluate(ds.groundTruth, alerts, { vms: ds.vms, windowNs, registered: detectorStages(runCfg) });
  return { replay, alerts, evaluation, report: formatEvaluation(evaluation, ds.groundTruth.scenario.start_ns) + droppedReport(replay) };
}

/** Records the stages dropped (late, caps): what a detector never saw explains what it missed. */
function droppedReport(replay: PipelineReplayResult): string {
  const lines = replay.stages.filter((s) => Object.keys(s.dropped).length > 0)
    .map((s) => `  ${s.name}: ${Object.entries(s.dropped).map(([r, n]) => `${n} ${r}`).join(', ')}`);
  return lines.length ? `\nrecords dropped by the stages:\n${lines.join('\n')}\n` : '\nno stage dropped a record\n';
}

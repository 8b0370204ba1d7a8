/**
 * A recorded dataset: capture files with their observation points, inventory versions and the
 * ground truth of what was injected when (written by scripts/lab/scenario.sh; demo/lab is one).
 * dataset.json describes the files; ground-truth.jsonl has one JSON object a line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TaplineError } from '../../lib/errors';
import type { ReplayInput } from '../../pipelines/replay';

export const LAB_DATASET = path.resolve(__dirname, '..', '..', 'demo', 'lab');

const DatasetSchema = z.object({
  name: z.string().default('dataset'),
  captures: z.array(z.object({ file: z.string().min(1), observationPoint: z.string().min(1) }).strict()).min(1),
  inventory: z.array(z.string().min(1)).default([]),
  groundTruth: z.string().min(1).optional(),
  observationHosts: z.record(z.string(), z.string()).default({}),
  /** VM name -> inventory id (the ground truth names VMs, alerts carry ids) */
  vms: z.record(z.string(), z.string()).default({}),
}).strict();

const ns = z.union([z.string().regex(/^\d+$/), z.number().int()]).transform((v) => BigInt(v));

const ScenarioSchema = z.object({ type: z.literal('scenario'), start_ns: ns, learn_end_ns: ns, end_ns: ns }).passthrough();
const EventSchema = z.object({
  type: z.string().min(1),
  start_ns: ns,
  end_ns: ns.optional(),
  src_vm: z.string().optional(),
  src_ip: z.string().optional(),
  dst_vm: z.string().optional(),
  dst_ip: z.string().optional(),
  kind: z.string().optional(),
  detail: z.record(z.string(), z.unknown()).default({}),
}).passthrough();

export type Scenario = z.infer<typeof ScenarioSchema>;
export type GroundTruthEvent = z.infer<typeof EventSchema>;

export interface GroundTruth {
  scenario: Scenario;
  /** injected anomalies and other marked events (vm_migration) */
  events: GroundTruthEvent[];
  /** the normal conversations that run all along */
  background: GroundTruthEvent[];
}

export interface Dataset {
  dir: string;
  name: string;
  replay: ReplayInput;
  groundTruth: GroundTruth | null;
  vms: Record<string, string>;
}

/** ns values exceed 2^53: quote every long integer before JSON.parse so none loses precision. */
function parseLine(line: string): unknown {
  return JSON.parse(line.replace(/([:[,]\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}

export function parseGroundTruth(text: string, source: string): GroundTruth {
  let scenario: Scenario | null = null;
  const events: GroundTruthEvent[] = [];
  const background: GroundTruthEvent[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${source}:${i + 1}`;
    let raw: unknown;
    try {
      raw = parseLine(line);
    } catch (e) {
      throw new TaplineError('CONFIG_INVALID', 'dataset', `${where}: not JSON: ${(e as Error).message}`);
    }
    const isScenario = (raw as { type?: unknown })?.type === 'scenario';
    const r = (isScenario ? ScenarioSchema : EventSchema).safeParse(raw);
    if (!r.success) throw new TaplineError('CONFIG_INVALID', 'dataset', `${where}: ${r.error.issues.map((x) => `${x.path.join('.') || '(root)'}: ${x.message}`).join('; ')}`);
    if (isScenario) scenario = r.data as Scenario;
    else if ((r.data as GroundTruthEvent).type === 'background') background.push(r.data as GroundTruthEvent);
    else events.push(r.data as GroundTruthEvent);
  });
  if (!scenario) throw new TaplineError('CONFIG_INVALID', 'dataset', `${source}: no {"type":"scenario"} line`);
  return { scenario, events, background };
}

export function loadDataset(dir: string): Dataset {
  const file = path.join(dir, 'dataset.json');
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TaplineError('CONFIG_INVALID', 'dataset', `cannot read ${file}: ${(e as Error).message}`);
  }
  const r = DatasetSchema.safeParse(raw);
  if (!r.success) throw new TaplineError('CONFIG_INVALID', 'dataset', `${file}: ${r.error.issues.map((x) => `${x.path.join('.') || '(root)'}: ${x.message}`).join('; ')}`);
  const d = r.data;
  const abs = (f: string) => {
    const p = path.resolve(dir, f);
    if (!fs.existsSync(p)) throw new TaplineError('IO', 'dataset', `${file} names ${f}, which does not exist`);
    return p;
  };
  const gtFile = d.groundTruth ? abs(d.groundTruth) : null;
  return {
    dir, name: d.name, vms: d.vms,
    replay: {
      captures: d.captures.map((c) => ({ file: abs(c.file), observationPoint: c.observationPoint })),
      inventory: d.inventory.map(abs),
      observationHosts: Object.keys(d.observationHosts).length ? d.observationHosts : undefined,
    },
    groundTruth: gtFile ? parseGroundTruth(fs.readFileSync(gtFile, 'utf8'), gtFile) : null,
  };
}

/**
 * Detector settings for a recorded scenario: its learning period is the detectors' (the
 * baselines warm up and new pairs are learned while only normal traffic runs). Everything
 * else stays at its default.
 */
export function scenarioStageConfig(gt: GroundTruth, windowMs = 10_000): Record<string, Record<string, unknown>> {
  const learnMs = Number((gt.scenario.learn_end_ns - gt.scenario.start_ns) / 1_000_000n);
  return {
    'detect-traffic': {
      baseline: { warmupWindows: Math.max(1, Math.floor(learnMs / windowMs)) },
      defaults: { newPairLearningMs: learnMs },
    },
  };
}

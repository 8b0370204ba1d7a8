/**
 * A bounded run of the whole pipeline over recorded data (the demo, the anomaly evaluation,
 * replays of any capture):
 *
 *   inventory files -> inventory connector -> tapline.inventory.v1   (in order: versions)
 *   capture files   -> merged by time      -> tapline.packets.v1      (one observation point each)
 *   every registered stage, in dependency order (replay-plan.ts)      (parse, aggregate, metrics,
 *                                            identify, vm-events, rollup, pathloss, detectors...)
 *   TimescaleDB sink                                                 (every table whose topic it wrote)
 *
 * Each stage is a bounded StageRunner over exactly the offset range the steps before it wrote in
 * this run (end offsets are snapshotted around every step), with fresh in-memory state
 * (at-least-once, a replay group of its own): whatever older or aborted runs left in the topics
 * is not read, and the sink's upserts make a repeated replay land exactly once.
 */
import type { Pool } from 'pg';
import type { TaplineConfig } from '../lib/config';
import { KafkaClient } from '../lib/kafka';
import type { ConnectorSummary } from '../connectors/types';
import { TaplineError } from '../lib/errors';
import { InventoryConnector, InventoryConfigSchema } from '../connectors/inventory';
import { VM_INVENTORY_TOPIC } from '../schemas/vm-inventory';
import { StageRunner } from './runtime/kafka-runner';
import type { OffsetRange } from './runtime/bounded';
import { TimescaleSink, sinkConfigFrom, sinkTopics } from './sinks/timescale';
import { publishCaptures, type CaptureInput, type CaptureSummary } from './replay-captures';
import { planStages } from './replay-plan';

export type { CaptureInput, CaptureSummary };

export interface ReplayInput {
  captures: CaptureInput[];
  /** inventory files (YAML/JSON), published in this order: later files are later versions */
  inventory?: string[];
  /** observation point -> physical host, for identify (default: derived from the point's name) */
  observationHosts?: Record<string, string>;
}

export interface PipelineReplayOptions {
  /** only these stages (default: every registered stage whose input this replay fills) */
  only?: string[];
  /** stage -> reason to leave it out */
  exclude?: Record<string, string>;
  /** consumer groups are <prefix>-<stage> (default tapline-replay) */
  groupPrefix?: string;
  /** write what the run produced to TimescaleDB (default true) */
  sink?: boolean;
  /** a step that reads and writes nothing for this long fails the replay (default 120 s) */
  stallMs?: number;
  /** one line per step (progress) */
  log?: (line: string) => void;
  /**
   * Lateness of the stages that read other stages' output (replay-plan.ts, reorderLatenessMs):
   * default the captures' time span plus a minute, so a replay drops nothing as late and gives the same alerts whatever order its fetches interleave partitions in.
   */
  reorderLatenessMs?: number;
}

export interface StageRun {
  name: string;
  input: string;
  read: number;
  /** records this stage wrote, per output topic */
  written: Record<string, number>;
  deadLettered: number;
  /** records dropped, by reason (late, caps, dead-letter, ...): a replay that drops is visible */
  dropped: Record<string, number>;
  ms: number;
}

export interface PipelineReplayResult {
  captures: CaptureSummary[];
  inventoryVersions: number;
  stages: StageRun[];
  skipped: { name: string; reason: string }[];
  /** what this run wrote, per topic: read these ranges to see its results */
  ranges: Map<string, OffsetRange>;
  /** rows per table (flow windows from topics.flows, every other table from its default topic) */
  sink: { rowsWritten: number; deadLettered: number; ms: number; tables: Record<string, number> } | null;
  timingsMs: { inventory: number; publish: number; stages: number; sink: number; total: number };
}

const REPLAY_FETCH_BYTES = 128 * 1024;
const DEFAULT_STALL_MS = 120_000;

/**
 * Waits for a bounded run, failing when it stops making progress: a consumer that kafkajs
 * stopped after a non-retriable error never completes the run (and, with nothing else pending,
 * node would just exit silently).
 */
async function untilDone(run: { done(): Promise<unknown>; metrics: { totals: { received: number; sent: number } } }, what: string, stallMs: number): Promise<void> {
  let last = -1;
  let since = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_resolve, reject) => {
    timer = setInterval(() => {
      const progress = run.metrics.totals.received + run.metrics.totals.sent;
      if (progress !== last) { last = progress; since = Date.now(); return; }
      if (Date.now() - since >= stallMs) {
        reject(new TaplineError('INTERNAL', 'replay', `${what} made no progress for ${Math.round(stallMs / 1000)} s: its consumer has stopped (TAPLINE_LOG_LEVEL=debug shows kafkajs' reason)`));
      }
    }, 1000);
  });
  try {
    await Promise.race([run.done(), stalled]);
  } finally {
    clearInterval(timer);
  }
}

/** First to last packet over all captures, ms. */
function replaySpanMs(captures: CaptureSummary[]): number {
  const firsts = captures.flatMap((c) => (c.firstTsNs === null ? [] : [c.firstTsNs]));
  const lasts = captures.flatMap((c) => (c.lastTsNs === null ? [] : [c.lastTsNs]));
  if (!firsts.length) return 0;
  const min = firsts.reduce((a, b) => (a < b ? a : b)), max = lasts.reduce((a, b) => (a > b ? a : b));
  return Math.ceil(Number(max - min) / 1e6);
}

const sum = (m: Map<number, bigint>) => [...m.values()].reduce((a, b) => a + b, 0n);

export async function replayPipeline(cfg: TaplineConfig, kafka: KafkaClient, pool: Pool | null, input: ReplayInput,
  opts: PipelineReplayOptions = {}): Promise<PipelineReplayResult> {
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const before = new Map<string, Map<number, bigint>>();
  const snapshot = async (topic: string) => { if (!before.has(topic)) before.set(topic, await kafka.endOffsets(topic)); };
  const rangeOf = async (topic: string): Promise<OffsetRange> => ({ from: before.get(topic) ?? new Map(), to: await kafka.endOffsets(topic) });

  const stagesCfg: TaplineConfig = input.observationHosts
    ? { ...cfg, stages: { ...cfg.stages, identify: { observationHosts: input.observationHosts, ...(cfg.stages.identify ?? {}) } } }
    : cfg;
  const inventoryTopic = (stagesCfg.stages.identify?.inventoryTopic as string | undefined) ?? VM_INVENTORY_TOPIC;

  // 1. The inventory, version by version. Its topic always exists: stages follow it as a global table.
  await kafka.ensureTopics([{ topic: inventoryTopic, partitions: 1, compacted: true },
    { topic: cfg.topics.packets, partitions: cfg.kafka.partitions }, { topic: cfg.topics.deadLetter, partitions: 1 }]);
  await snapshot(inventoryTopic);
  for (const file of input.inventory ?? []) {
    const inv = new InventoryConnector(InventoryConfigSchema.parse({ source: 'file', path: file, topic: inventoryTopic, watch: false }), kafka);
    try {
      await inv.start();
      await inv.done();
    } finally {
      await inv.close();
    }
  }
  const invRange = await rangeOf(inventoryTopic);
  const inventoryVersions = Number(sum(invRange.to) - sum(invRange.from));
  const t1 = Date.now();
  log(`inventory: ${inventoryVersions} VM versions from ${(input.inventory ?? []).length} file(s) -> ${inventoryTopic}`);

  // 2. The captures, merged by time.
  await snapshot(cfg.topics.packets);
  const captures = await publishCaptures(kafka, cfg.topics.packets, input.captures);
  const t2 = Date.now();
  log(`captures: ${captures.map((c) => `${c.observationPoint} ${c.packets} packets`).join(', ')} -> ${cfg.topics.packets} in ${t2 - t1} ms`);

  // 3. Every stage, in dependency order.
  const exclude = { ...(opts.exclude ?? {}) };
  if (captures.length < 2 && !exclude.pathloss) exclude.pathloss = 'needs two observation points of the same traffic (one capture given)';
  const plan = planStages(stagesCfg, { sources: new Set([cfg.topics.packets, inventoryTopic]), only: opts.only, exclude,
    reorderLatenessMs: opts.reorderLatenessMs ?? replaySpanMs(captures) + 60_000 });
  const stages: StageRun[] = [];
  // A stage sends the outputs of one fetched batch in one produce request; a batch of flow
  // windows becomes identified flows (and three repartitioned copies of each) beyond the broker's
  // message.max.bytes (1 MB) per partition, which kafkajs reports as non-retriable: the consumer
  // stops. The replay's stages fetch small batches and gzip what they write (message.max.bytes
  // applies to the compressed batch; these Avro records shrink several-fold).
  const stageKafka = new KafkaClient({ ...kafka.settings, clientId: `${kafka.settings.clientId}-replay`, compression: 'gzip',
    maxBytesPerPartition: Math.min(kafka.settings.maxBytesPerPartition ?? REPLAY_FETCH_BYTES, REPLAY_FETCH_BYTES) });
  try {
  for (const { name, def } of plan.stages) {
    const ts = Date.now();
    const partitions = await kafka.partitionCount(def.input.topic);
    const outputs = Object.keys(def.outputs);
    await kafka.ensureTopics(outputs.map((topic) => ({ topic, partitions })));
    for (const t of outputs) await snapshot(t);
    const outBefore = new Map(await Promise.all(outputs.map(async (t) => [t, sum(await kafka.endOffsets(t))] as const)));
    const runner = new StageRunner(def, {
      kafka: stageKafka, deadLetterTopic: cfg.topics.deadLetter, bounded: true, guarantee: 'at_least_once',
      groupId: `${opts.groupPrefix ?? 'tapline-replay'}-${name}`, range: await rangeOf(def.input.topic),
    });
    try {
      await runner.start();
      await untilDone(runner, `stage ${name}`, opts.stallMs ?? DEFAULT_STALL_MS);
    } finally {
      await runner.close();
    }
    const written: Record<string, number> = {};
    for (const t of outputs) written[t] = Number(sum(await kafka.endOffsets(t)) - outBefore.get(t)!);
    const run: StageRun = { name, input: def.input.topic, read: runner.metrics.totals.received, written,
      deadLettered: runner.metrics.droppedByReason.get('dead-letter') ?? 0,
      dropped: Object.fromEntries(runner.metrics.droppedByReason), ms: Date.now() - ts };
    stages.push(run);
    const drops = Object.entries(run.dropped).map(([r, n]) => `${n} ${r}`).join(', ');
    log(`stage ${name}: ${run.read} records -> ${Object.entries(written).map(([t, n]) => `${n} ${t}`).join(', ') || 'nothing'}${drops ? `; dropped ${drops}` : ''} in ${run.ms} ms`);
  }
  } finally {
    await stageKafka.close();
  }
  for (const s of plan.skipped) log(`stage ${s.name}: skipped (${s.reason})`);
  const t3 = Date.now();

  // 4. The sink: one bounded run per table whose topic this replay wrote (a sink replays exact
  //    offset ranges one topic at a time).
  let sink: PipelineReplayResult['sink'] = null;
  if (pool && opts.sink !== false) {
    const ts = Date.now();
    sink = { rowsWritten: 0, deadLettered: 0, ms: 0, tables: {} };
    const base = sinkConfigFrom(cfg);
    for (const [topic, spec] of sinkTopics(base)) {
      if (!before.has(topic)) continue;
      const range = await rangeOf(topic);
      if (sum(range.to) === sum(range.from)) continue;
      const s = new TimescaleSink({ ...base, tables: [spec.name], topics: { [spec.name]: topic }, groupId: `${opts.groupPrefix ?? 'tapline-replay'}-sink-${spec.name}` },
        { kafka, pool, bounded: true, range });
      try {
        await s.start();
        await untilDone(s, `sink ${spec.name}`, opts.stallMs ?? DEFAULT_STALL_MS);
      } finally {
        await s.close();
      }
      sink.tables[spec.name] = s.metrics.totals.sent;
      sink.rowsWritten += s.metrics.totals.sent;
      sink.deadLettered += s.metrics.droppedByReason.get('dead-letter') ?? 0;
    }
    sink.ms = Date.now() - ts;
    log(`sink: ${Object.entries(sink.tables).map(([t, n]) => `${n} ${t}`).join(', ')} in ${sink.ms} ms`);
  }
  const t4 = Date.now();
  const ranges = new Map<string, OffsetRange>();
  for (const t of before.keys()) ranges.set(t, await rangeOf(t));
  return {
    captures, inventoryVersions, stages, skipped: plan.skipped, ranges, sink,
    timingsMs: { inventory: t1 - t0, publish: t2 - t1, stages: t3 - t2, sink: t4 - t3, total: t4 - t0 },
  };
}

/** The thin slice of the first demo: one file through aggregate into flow_windows. */
export interface ReplayResult {
  observationPoint: string;
  capture: ConnectorSummary;
  flowWindows: number;
  rowsWritten: number;
  deadLettered: number;
  late: number;
  timingsMs: { publish: number; aggregate: number; sink: number };
}

export async function replayFile(cfg: TaplineConfig, kafka: KafkaClient, pool: Pool, file: string,
  opts: { progress?: boolean; observationPoint?: string } = {}): Promise<ReplayResult> {
  const r = await replayPipeline(cfg, kafka, pool, { captures: [{ file, observationPoint: opts.observationPoint }] }, { only: ['aggregate'] });
  const agg = r.stages.find((s) => s.name === 'aggregate')!;
  const c = r.captures[0];
  return {
    observationPoint: c.observationPoint,
    capture: { packets: c.packets, bytes: c.bytes, malformed: c.malformed, firstTsNs: c.firstTsNs, lastTsNs: c.lastTsNs },
    flowWindows: agg.written[cfg.topics.flows] ?? 0,
    rowsWritten: r.sink?.tables.flow_windows ?? 0,
    deadLettered: agg.deadLettered + (r.sink?.deadLettered ?? 0),
    late: agg.written[cfg.topics.late] ?? 0,
    timingsMs: { publish: r.timingsMs.publish, aggregate: r.timingsMs.stages, sink: r.timingsMs.sink },
  };
}

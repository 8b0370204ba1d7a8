/**
 * A bounded run of the whole pipeline over one capture file: pcap-file -> tapline.packets.v1
 * -> aggregate -> tapline.flows.v1 -> TimescaleDB. Each step reads up to the end offsets that
 * exist when it starts, so the run ends by itself; committed offsets make a second run process
 * only the new records, and the sink's upserts make the same data land exactly once.
 */
import type { Pool } from 'pg';
import type { TaplineConfig } from '../lib/config';
import type { KafkaClient } from '../lib/kafka';
import { PcapFileConnector } from '../connectors/pcap-file';
import type { ConnectorSummary } from '../connectors/types';
import { StageRunner } from './runtime/kafka-runner';
import { aggregateStage } from './stages/aggregate';
import { TimescaleSink } from './sinks/timescale';

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
  const t0 = Date.now();
  // Snapshots of the topics' end offsets around each step: every step then reads exactly what
  // the previous one wrote in this run, whatever older or aborted runs left in the topics.
  const packetsFrom = await kafka.endOffsets(cfg.topics.packets);
  const connector = new PcapFileConnector({
    path: file, topic: cfg.topics.packets, observationPoint: opts.observationPoint, speed: 0,
    batchSize: 2000, progress: opts.progress ?? false,
  }, kafka);
  let capture: ConnectorSummary;
  try {
    await connector.start();
    capture = await connector.done();
  } finally {
    await connector.close();
  }
  const t1 = Date.now();
  const packetsTo = await kafka.endOffsets(cfg.topics.packets);
  const flowsFrom = await kafka.endOffsets(cfg.topics.flows);

  const stage = new StageRunner(aggregateStage({
    inputTopic: cfg.topics.packets, outputTopic: cfg.topics.flows, lateTopic: cfg.topics.late,
    ...(cfg.stages.aggregate ?? {}),
  }), { kafka, deadLetterTopic: cfg.topics.deadLetter, bounded: true,
    // A replay is its own job: it reads exactly this run's records with fresh in-memory state and
    // commits at the end, so it needs neither the streaming group's offsets nor its changelogs.
    groupId: 'tapline-aggregate-replay', guarantee: 'at_least_once', range: { from: packetsFrom, to: packetsTo } });
  try {
    await stage.start();
    await stage.done();
  } finally {
    await stage.close();
  }
  const t2 = Date.now();
  const flowsTo = await kafka.endOffsets(cfg.topics.flows);

  const sink = new TimescaleSink({ topic: cfg.topics.flows, deadLetterTopic: cfg.topics.deadLetter,
    groupId: 'tapline-sink-timescale', batchSize: cfg.sink.batchSize }, { kafka, pool, bounded: true, range: { from: flowsFrom, to: flowsTo } });
  try {
    await sink.start();
    await sink.done();
  } finally {
    await sink.close();
  }
  const t3 = Date.now();
  return {
    observationPoint: connector.observationPoint,
    capture,
    flowWindows: stage.metrics.totals.sent - (stage.metrics.droppedByReason.get('late') ?? 0), // late records go to their own topic
    rowsWritten: sink.metrics.totals.sent,
    deadLettered: (stage.metrics.droppedByReason.get('dead-letter') ?? 0) + (sink.metrics.droppedByReason.get('dead-letter') ?? 0),
    late: stage.metrics.droppedByReason.get('late') ?? 0,
    timingsMs: { publish: t1 - t0, aggregate: t2 - t1, sink: t3 - t2 },
  };
}

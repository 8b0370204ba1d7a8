/**
 * Several capture files -> one packet topic, merged by capture time. Each file is one
 * observation point (e.g. the two monitor ports of the lab); publishing them one after the other
 * would make stream time jump back at the second file and turn its packets into late records,
 * so the files are read side by side and the earliest frame goes first (ties: file order).
 */
import path from 'node:path';
import fs from 'node:fs';
import { readCaptureBatches } from '../lib/pcap';
import { decodeFrame, DecodeStats, defaultPayloadPrefix } from '../lib/decode';
import { ComponentMetrics } from '../lib/metrics';
import { TaplineError } from '../lib/errors';
import type { KafkaClient } from '../lib/kafka';
import type { PacketSummary } from '../schemas/types';
import { PacketPublisher } from '../connectors/publisher';

export interface CaptureInput {
  file: string;
  /** default file:<basename>, as the pcap-file connector */
  observationPoint?: string;
}

export interface CaptureSummary {
  file: string;
  observationPoint: string;
  packets: number;
  bytes: number;
  malformed: number;
  firstTsNs: bigint | null;
  lastTsNs: bigint | null;
}

interface Source {
  summary: CaptureSummary;
  batches: AsyncIterator<import('../lib/pcap').CaptureRecord[]>;
  queue: PacketSummary[];
  at: number;
  done: boolean;
}

export function observationPointOf(c: CaptureInput): string {
  return c.observationPoint ?? `file:${path.basename(c.file)}`;
}

/** Decodes the next batch of a source into its queue (the reader's buffers are reused: decode now). */
async function refill(s: Source, stats: DecodeStats): Promise<void> {
  while (!s.done && s.at >= s.queue.length) {
    const next = await s.batches.next();
    if (next.done) { s.done = true; return; }
    s.queue = [];
    s.at = 0;
    const opts = { observationPoint: s.summary.observationPoint, payloadPrefix: defaultPayloadPrefix };
    for (const rec of next.value) {
      const p = decodeFrame(rec, opts, stats);
      if (p.malformed) s.summary.malformed++;
      s.summary.packets++;
      s.summary.bytes += rec.wireLen;
      s.summary.firstTsNs ??= rec.ts_ns;
      s.summary.lastTsNs = rec.ts_ns;
      s.queue.push(p);
    }
  }
}

export async function publishCaptures(kafka: KafkaClient, topic: string, captures: CaptureInput[],
  opts: { batchSize?: number } = {}): Promise<CaptureSummary[]> {
  if (captures.length === 0) throw new TaplineError('CONFIG_INVALID', 'replay', 'no capture file to replay');
  const points = captures.map(observationPointOf);
  if (new Set(points).size !== points.length) throw new TaplineError('CONFIG_INVALID', 'replay', `two captures share an observation point: ${points.join(', ')}`);
  for (const c of captures) if (!fs.existsSync(c.file)) throw new TaplineError('IO', 'replay', `capture file not found: ${c.file}`);
  const metrics = new ComponentMetrics('pcap-file');
  const stats = new DecodeStats();
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const sources: Source[] = captures.map((c, i) => ({
    summary: { file: c.file, observationPoint: points[i], packets: 0, bytes: 0, malformed: 0, firstTsNs: null, lastTsNs: null },
    batches: readCaptureBatches(c.file)[Symbol.asyncIterator](), queue: [], at: 0, done: false,
  }));
  const publisher = new PacketPublisher(producer, topic, metrics, opts.batchSize ?? 2000);
  try {
    try {
      for (;;) {
        let best: Source | null = null;
        for (const s of sources) {
          await refill(s, stats);
          if (s.at < s.queue.length && (!best || BigInt(s.queue[s.at].ts_ns) < BigInt(best.queue[best.at].ts_ns))) best = s;
        }
        if (!best) break;
        // Take every frame of `best` up to the next head of the others in one go (cheap when
        // one file is quiet for a while).
        let limit: bigint | null = null;
        for (const s of sources) if (s !== best && s.at < s.queue.length) {
          const t = BigInt(s.queue[s.at].ts_ns);
          if (limit === null || t < limit) limit = t;
        }
        while (best.at < best.queue.length && (limit === null || BigInt(best.queue[best.at].ts_ns) <= limit)) {
          const pending = publisher.add(best.queue[best.at++]);
          if (pending) await pending;
        }
      }
    } finally {
      // Everything decoded before a damaged file's error is still published before it surfaces.
      await publisher.flush();
    }
  } finally {
    await producer.close().catch(() => undefined);
  }
  return sources.map((s) => s.summary);
}

/**
 * Stage throughput through a real broker: summaries/s of `aggregate` (and `metrics`) run by the
 * StageRunner, exactly-once and at-least-once, against a consumer that only reads and decodes
 * the same topic, the fields the stages read (the consume ceiling, measured in the same run;
 * with and without its start-up, as the stages are).
 *
 *   npm run bench:stages-kafka [-- --packets 300000]
 *
 * Last, aggregate exactly-once through 64 KB fetches: a transaction per batch against the
 * default commit interval (kafka.commitIntervalMs).
 *
 * Input: the bench capture (bench-capture.ts: zeek_echo-connections.pcap repeated with shifted
 * timestamps), published once by the pcap-file connector (not timed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KafkaBroker } from '../lib/services/kafka-broker';
import { KafkaClient } from '../lib/kafka';
import { PcapFileConnector } from '../connectors/pcap-file';
import { StageRunner, type Guarantee } from '../pipelines/runtime/kafka-runner';
import { InputCodec } from '../pipelines/runtime/input-codec';
import { aggregateStage, type AggregatePacket } from '../pipelines/stages/aggregate';
import { metricsStage, type MetricsPacket } from '../pipelines/stages/metrics';
import { fuseStages } from '../pipelines/runtime/fuse';
import type { StageDefinition } from '../pipelines/runtime/types';
import type { PacketSummary } from '../schemas/types';
import { Completion } from '../pipelines/runtime/bounded';
import { buildFile } from './bench-capture';

const arg = (n: string, d: number) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? Number(process.argv[i + 1]) : d; };

/** Reads and decodes the topic as the stage would (the same fields), nothing else: summaries, and when the first batch came. */
async function consumeOnly(kafka: KafkaClient, topic: string, def: StageDefinition<PacketSummary>): Promise<{ n: number; first: { at: bigint; n: number } | null }> {
  const ends = await kafka.endOffsets(topic);
  const remaining = new Map([...ends].filter(([, e]) => e > 0n));
  const codec = new InputCodec(def);
  let n = 0;
  let first: { at: bigint; n: number } | null = null;
  const done = new Completion();
  const c = kafka.consumer(`bench-consume-${Date.now()}`);
  c.run([topic], async (b) => {
    for (const m of b.messages) n += codec.decode(m.value!).length;
    first ??= { at: process.hrtime.bigint(), n };
  }, {
    onProgress: (_t, p, next) => { if (next >= (remaining.get(p) ?? 0n)) remaining.delete(p); if (remaining.size === 0) done.resolve(); },
  }).catch((e: Error) => done.reject(e));
  await done.promise;
  await c.close();
  return { n, first };
}

async function main(): Promise<void> {
  const packets = arg('packets', 300_000);
  const file = await buildFile(packets);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-bench-stages-'));
  const broker = new KafkaBroker({ stateDir, port: 19492, heap: '-Xmx1g' });
  const { brokers } = await broker.start();
  const kafka = new KafkaClient({ brokers, clientId: 'bench-stages' });
  const run = Date.now();
  const topic = `bench-${run}.packets.v1`;
  try {
    await kafka.ensureTopics([{ topic, partitions: 4 }]);
    const c = new PcapFileConnector({ path: file, topic, speed: 0, batchSize: 5000, progress: false }, kafka);
    await c.start(); const { packets: n } = await c.done(); await c.close();
    const rate = (count: number, t0: bigint) => Math.round(count / (Number(process.hrtime.bigint() - t0) / 1e9));

    // the ceiling decodes what the fused stage decodes: the fields aggregate and metrics read
    const ref = fuseStages<AggregatePacket & MetricsPacket>([aggregateStage({ inputTopic: topic, outputTopic: `${topic}.x`, lateTopic: `${topic}.late` }),
      metricsStage({ inputTopic: topic, outputTopic: `${topic}.y` })]) as unknown as StageDefinition<PacketSummary>;
    let t0 = process.hrtime.bigint();
    const consumed = await consumeOnly(kafka, topic, ref);
    const ceiling = rate(consumed.n, t0);
    const fc = consumed.first;
    const steadyCeiling = fc ? rate(consumed.n - fc.n, fc.at) : ceiling;
    console.log(`input: ${n} summaries in ${topic}`);
    console.log(`consume + decode only (ceiling)       : ${ceiling.toLocaleString()} summaries/s with start-up; ${steadyCeiling.toLocaleString()} summaries/s after the first batch`);
    const stages: [string, () => StageDefinition<PacketSummary>][] = [
      ['aggregate', () => aggregateStage({ inputTopic: topic, outputTopic: `${topic}.flows`, lateTopic: `${topic}.late` })],
      ['metrics', () => metricsStage({ inputTopic: topic, outputTopic: `${topic}.metrics` })],
      // one worker doing both: one fetch, one decode, one transaction per batch for the two stages
      ['aggregate+metrics fused', () => fuseStages<AggregatePacket & MetricsPacket>([
        aggregateStage({ inputTopic: topic, outputTopic: `${topic}.flows2`, lateTopic: `${topic}.late2` }),
        metricsStage({ inputTopic: topic, outputTopic: `${topic}.metrics2` })])],
    ];
    for (const [name, make] of stages) {
      for (const guarantee of ['exactly_once', 'at_least_once'] as Guarantee[]) {
        const r = new StageRunner(make(), { kafka, deadLetterTopic: `${topic}.dlq`, groupId: `bench-${name.replace(/[^a-z]+/g, '-')}-${guarantee}-${run}`, bounded: true, guarantee });
        t0 = process.hrtime.bigint();
        // Start-up (group join; exactly-once: changelog topics, fencing, restore) is paid once per
        // worker, not per record: the steady rate counts only the records after the first batch.
        let first: { at: bigint; received: number } | null = null;
        const probe = setInterval(() => { const k = r.metrics.totals.received; if (first === null && k > 0) first = { at: process.hrtime.bigint(), received: k }; }, 5);
        try { await r.start(); await r.done(); } finally { clearInterval(probe); }
        const end = process.hrtime.bigint();
        await r.close();
        const total = r.metrics.totals.received;
        const got = Math.round(total / (Number(end - t0) / 1e9));
        const f = first as { at: bigint; received: number } | null;
        const steady = f ? Math.round((total - f.received) / (Number(end - f.at) / 1e9)) : got;
        console.log(`${`${name} ${guarantee}`.padEnd(38)}: ${got.toLocaleString()} summaries/s with start-up (${(got / ceiling).toFixed(2)} of the ceiling); `
          + `first batch after ${f ? (Number(f.at - t0) / 1e6).toFixed(0) : '-'} ms, ${steady.toLocaleString()} summaries/s after it (${(steady / steadyCeiling).toFixed(2)}); ${r.metrics.totals.sent} records out`);
      }
    }
    // A worker behind its partition through small fetches (64 KB: one message per batch here):
    // a transaction per batch against the default commit interval.
    const small = new KafkaClient({ brokers, clientId: 'bench-stages-small', maxBytesPerPartition: 64 * 1024 });
    try {
      for (const commitIntervalMs of [0, 100]) {
        const r = new StageRunner(stages[0][1](), { kafka: small, deadLetterTopic: `${topic}.dlq`, groupId: `bench-small-${commitIntervalMs}-${run}`, bounded: true, commitIntervalMs });
        t0 = process.hrtime.bigint();
        await r.start(); await r.done(); await r.close();
        console.log(`aggregate exactly_once, 64 KB fetches, commitIntervalMs ${String(commitIntervalMs).padEnd(3)}: ${rate(r.metrics.totals.received, t0).toLocaleString()} summaries/s with start-up, ${r.commits} transactions`);
      }
    } finally {
      await small.close();
    }
  } finally {
    await kafka.close();
    await broker.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });

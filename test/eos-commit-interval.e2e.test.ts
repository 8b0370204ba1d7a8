/**
 * Exactly-once commit interval on a real broker: a worker catching up through small fetches
 * commits one transaction per interval instead of one per fetched batch, and its output is the
 * same as with a transaction per batch.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { testServices } from './support/services';
import { AvroCodec } from '../schemas';
import type { FlowWindow } from '../schemas/types';
import { PcapFileConnector } from '../connectors/pcap-file';
import { StageRunner } from '../pipelines/runtime/kafka-runner';
import { aggregateStage } from '../pipelines/stages/aggregate';
import { KafkaClient, readPartitionsToEnd } from '../lib/kafka';

const CAPTURE = path.resolve(__dirname, '../../shared/pcaps/zeek_echo-connections.pcap');
const RUN = `eosint-${process.pid}-${Date.now()}`;

describe('exactly-once commit interval @integration', function () {
  this.timeout(300_000);

  it('one transaction per interval while catching up, not per batch; the same windows', async () => {
    const s = await testServices();
    // 16 KB fetches: many small batches, as for a worker behind a busy partition
    const kafka = new KafkaClient({ brokers: s.brokers, clientId: RUN, maxBytesPerPartition: 16_384 });
    const packets = `${RUN}.packets.v1`;
    await kafka.ensureTopics([{ topic: packets, partitions: 2 }, { topic: `${RUN}.dlq`, partitions: 1 }]);
    const c = new PcapFileConnector({ path: CAPTURE, topic: packets, speed: 0, batchSize: 200, progress: false }, kafka);
    await c.start(); await c.done(); await c.close();
    const codec = new AvroCodec<FlowWindow>('flow-window.v1');

    const run = async (commitIntervalMs: number) => {
      const out = `${RUN}.flows-${commitIntervalMs}.v1`;
      const r = new StageRunner(aggregateStage({ inputTopic: packets, outputTopic: out, lateTopic: `${RUN}.late-${commitIntervalMs}.v1`, windowMs: 500, allowedLatenessMs: 200 }),
        { kafka, deadLetterTopic: `${RUN}.dlq`, groupId: `${RUN}-${commitIntervalMs}`, bounded: true, commitIntervalMs });
      await r.start(); await r.done(); await r.close();
      const windows: string[] = [];
      await readPartitionsToEnd(kafka, out, [0, 1], (_p, m) => {
        const w = codec.decode(m.value!);
        windows.push(`${w.window_start_ns}|${w.flow_key}|${w.packets_ab}|${w.bytes_ab}|${w.packets_ba}|${w.bytes_ba}`);
      });
      return { windows: windows.sort(), commits: r.commits, received: r.metrics.totals.received };
    };
    const perBatch = await run(0);
    const interval = await run(100);
    assert.ok(perBatch.windows.length > 500, `enough windows (${perBatch.windows.length})`);
    assert.equal(interval.received, perBatch.received);
    assert.deepEqual(interval.windows, perBatch.windows);
    // eslint-disable-next-line no-console
    console.log(`      ${perBatch.commits} transactions with one per batch, ${interval.commits} with a 100 ms interval`);
    assert.ok(interval.commits * 2 < perBatch.commits, `fewer transactions (${interval.commits} vs ${perBatch.commits})`);
    await kafka.close();
  });
});

/**
 * Review test: one failed offset commit (e.g. REBALANCE_IN_PROGRESS during a rebalance) must not
 * stop a streaming sink for good: kafkajs restarts the consumer from the committed offsets and the
 * sink must go on writing and committing.
 */
import assert from 'node:assert/strict';
import { testServices } from './support/services';
import { AvroCodec } from '../schemas';
import type { FlowWindow } from '../schemas/types';
import { TimescaleSink } from '../pipelines/sinks/timescale';
import { syntheticFlowWindows } from '../pipelines/sinks/timescale/tables/fixtures';
import type { KafkaClient, TaplineConsumer } from '../lib/kafka';

const RUN = `sinkcf${process.pid}x${Date.now()}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sink: a failed offset commit @integration', function () {
  this.timeout(120_000);

  it('a streaming sink recovers from one failed commit and commits every offset', async () => {
    const s = await testServices();
    const topic = `${RUN}.flows`;
    const group = `${RUN}-g`;
    await s.kafka.ensureTopics([{ topic, partitions: 1 }, { topic: `${RUN}.dlq`, partitions: 1 }]);
    const fw = new AvroCodec<FlowWindow>('flow-window.v1');
    const prod = s.kafka.producer();
    const N = 100;
    await prod.send(topic, syntheticFlowWindows(RUN, N).map((w) => ({ key: w.flow_key, value: fw.encode(w) })));
    let failures = 0;
    const kafka = Object.create(s.kafka) as KafkaClient;
    kafka.consumer = (g: string) => {
      const c = s.kafka.consumer(g) as TaplineConsumer;
      const commit = c.commit.bind(c);
      c.commit = async (o) => {
        if (failures++ === 0) throw Object.assign(new Error('The group is rebalancing, so a rejoin is needed'), { retriable: true, type: 'REBALANCE_IN_PROGRESS' });
        return commit(o);
      };
      return c;
    };
    const k = new TimescaleSink({ tables: ['flow_windows'], topics: { flow_windows: topic }, deadLetterTopic: `${RUN}.dlq`, groupId: group, batchSize: 10 },
      { kafka, pool: s.pool });
    try {
      await k.start();
      await sleep(3000);
      await prod.send(topic, syntheticFlowWindows(`${RUN}b`, 10).map((w) => ({ key: w.flow_key, value: fw.encode(w) })));
      const deadline = Date.now() + 60_000;
      let committed = 0n;
      while (Date.now() < deadline) {
        committed = (await s.kafka.committedOffsets(group, topic)).get(0) ?? -1n;
        if (committed >= BigInt(N + 10)) break;
        await sleep(500);
      }
      assert.ok(failures >= 1, 'the commit failed once');
      assert.ok(committed >= BigInt(N + 10), `every offset committed in the end (committed ${committed})`);
    } finally {
      await k.close();
      await prod.close();
    }
  });
});

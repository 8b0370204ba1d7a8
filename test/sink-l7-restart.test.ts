/**
 * Review test: two byte-identical L7 events in a row are two events (l7-events.ts: event_id =
 * digest + ordinal among the identical records right before it). A sink restart (or a
 * rebalance) whose committed offset falls between them must not merge them into one row.
 */
import assert from 'node:assert/strict';
import { testServices } from './support/services';
import { AvroCodec } from '../schemas';
import { TimescaleSink } from '../pipelines/sinks/timescale';
import { sampleRecords } from '../pipelines/sinks/timescale/tables/fixtures';

const RUN = `sinkl7r${process.pid}x${Date.now()}`;

describe('sink: identical L7 events across a restart @integration', function () {
  this.timeout(120_000);

  it('keeps both of two identical consecutive events when the sink restarts between them', async () => {
    const s = await testServices();
    const topic = `${RUN}.l7`;
    const group = `${RUN}-g`;
    await s.kafka.ensureTopics([{ topic, partitions: 1 }, { topic: `${RUN}.dlq`, partitions: 1 }]);
    const fx = (await sampleRecords(RUN)).get('l7_events')!;
    assert.ok(fx.length >= 2);
    const codec = new AvroCodec('l7-event.v1');
    const [x, b] = [codec.encode(fx[1]), codec.encode(fx[0])];
    const sink = () => new TimescaleSink({ tables: ['l7_events'], topics: { l7_events: topic }, deadLetterTopic: `${RUN}.dlq`, groupId: group },
      { kafka: s.kafka, pool: s.pool, bounded: true });
    const prod = s.kafka.producer();
    try {
      await prod.send(topic, [{ key: 'k', value: x }, { key: 'k', value: b }]);
      const k1 = sink();
      try { await k1.start(); await k1.done(); } finally { await k1.close(); }
      // the stage emits the same event again right after (two pipelined identical requests)
      await prod.send(topic, [{ key: 'k', value: b }]);
      const k2 = sink();
      try { await k2.start(); await k2.done(); } finally { await k2.close(); }
    } finally {
      await prod.close();
    }
    const rows = await s.pool.query<{ event_id: string }>('SELECT event_id FROM l7_events WHERE observation_point = $1 AND flow_key = $2 ORDER BY event_id',
      [fx[0].observation_point, fx[0].flow_key]);
    // an uninterrupted run writes b as <digest>:0 and <digest>:1
    const ids = rows.rows.map((r) => r.event_id).filter((id) => id.endsWith(':0') || id.endsWith(':1'));
    const digests = new Map<string, string[]>();
    for (const id of ids) { const [d, n] = id.split(':'); digests.set(d, [...(digests.get(d) ?? []), n]); }
    assert.ok([...digests.values()].some((ns) => ns.length === 2 && ns.includes('0') && ns.includes('1')),
      `both identical events are kept: ${JSON.stringify(rows.rows)}`);
  });
});

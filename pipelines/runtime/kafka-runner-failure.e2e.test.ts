/**
 * A background (deferred) exactly-once commit that fails must not lose the records it carried:
 * the task is dropped, and the records since the last successful commit must be read again.
 * A runner closed while it starts must not go on to consume.
 */
import assert from 'node:assert/strict';
import { testServices } from '../../test/support/services';
import { AvroCodec } from '../../schemas';
import type { FlowWindow } from '../../schemas/types';
import { KafkaClient, readPartitionsToEnd, type TransactionalProducer } from '../../lib/kafka';
import { StageRunner } from './kafka-runner';
import type { StageDefinition } from './types';

const RUN = `rtfail-${process.pid}-${Date.now()}`;

function fw(i: number): FlowWindow {
  return { window_start_ns: BigInt(i) * 1000n, window_end_ns: BigInt(i) * 1000n + 1n, flow_key: `k${i}`, ip_proto: 6, addr_a: 'a', port_a: 1,
    addr_b: 'b', port_b: 2, packets_ab: 0n, bytes_ab: 0n, packets_ba: 0n, bytes_ba: 0n, syn_count: 0, synack_count: 0, fin_count: 0, rst_count: 0,
    zero_window_count: 0, malformed_count: 0, first_seen_ns: 0n, last_seen_ns: 0n, observation_point: 'x' } as FlowWindow;
}

class FailingKafka extends KafkaClient {
  commits = 0;
  constructor(settings: ConstructorParameters<typeof KafkaClient>[0], private readonly failAt: number) { super(settings); }
  override transactionalProducer(id: string): TransactionalProducer {
    const p = super.transactionalProducer(id);
    const commit = p.commit.bind(p);
    p.commit = async (batches, offsets) => {
      if (++this.commits === this.failAt) throw new Error('injected commit failure');
      return commit(batches, offsets);
    };
    return p;
  }
}

describe('runtime: a failed background commit @integration', function () {
  this.timeout(300_000);

  it('loses no record: what the failed transaction carried is processed again', async () => {
    const s = await testServices();
    const input = `${RUN}.in.v1`, output = `${RUN}.out.v1`;
    const N = 3000;
    const plain = new KafkaClient({ brokers: s.brokers, clientId: RUN });
    await plain.ensureTopics([{ topic: input, partitions: 1 }]);
    const codec = new AvroCodec<FlowWindow>('flow-window.v1');
    const producer = plain.producer();
    // one produce request (one record batch) per 100 records: fetches return whole record batches
    for (let j = 0; j < N; j += 100) await producer.send(input, Array.from({ length: 100 }, (_, i) => ({ key: `k${j + i}`, value: codec.encode(fw(j + i)) })));
    await producer.close();

    // small fetches: many batches, each committed in the background (1 ms interval)
    const kafka = new FailingKafka({ brokers: s.brokers, clientId: `${RUN}-w`, maxBytesPerPartition: 8_192 }, 3);
    const def: StageDefinition<FlowWindow> = {
      name: 'passthrough', input: { topic: input, schema: 'flow-window.v1' }, outputs: { [output]: 'flow-window.v1' }, stores: [],
      timestampOf: (v) => BigInt(v.window_start_ns),
      create: () => {
        let fwd: (t: string, k: string | null, v: unknown) => void;
        return { init: (ctx) => { fwd = ctx.forward; }, process: (r) => fwd(output, r.key, r.value), punctuate: () => {}, close: () => {} };
      },
    };
    const r = new StageRunner(def, { kafka, deadLetterTopic: `${RUN}.dlq`, groupId: `${RUN}-g`, bounded: true, commitIntervalMs: 1 });
    await r.start();
    await r.done();
    await r.close();
    assert.ok(kafka.commits > 3, `the failure happened in the middle of the run (${kafka.commits} commits)`);

    const seen = new Map<string, number>();
    await readPartitionsToEnd(plain, output, [0], (_p, m) => {
      const k = codec.decode(m.value!).flow_key;
      seen.set(k, (seen.get(k) ?? 0) + 1);
    });
    const missing = Array.from({ length: N }, (_, i) => `k${i}`).filter((k) => !seen.has(k));
    const twice = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
    assert.deepEqual({ missing: missing.length, twice: twice.length }, { missing: 0, twice: 0 }, `missing e.g. ${missing.slice(0, 5)}`);
    await kafka.close();
    await plain.close();
  });

  it('close() while start() runs: no consumer is created afterwards, the producer is closed, close() twice waits for the first', async () => {
    const s = await testServices();
    const input = `${RUN}.early.in.v1`;
    let consumers = 0;
    const producers: { connected: boolean }[] = [];
    class Counting extends KafkaClient {
      override consumer(groupId: string) { consumers++; return super.consumer(groupId); }
      override producer(opts?: Parameters<KafkaClient['producer']>[0]) { const p = super.producer(opts); producers.push(p as unknown as { connected: boolean }); return p; }
    }
    const kafka = new Counting({ brokers: s.brokers, clientId: `${RUN}-early` });
    await kafka.ensureTopics([{ topic: input, partitions: 1 }]);
    const def: StageDefinition<FlowWindow> = {
      name: 'early', input: { topic: input, schema: 'flow-window.v1' }, outputs: {}, stores: [], timestampOf: (v) => BigInt(v.window_start_ns),
      create: () => ({ init: () => {}, process: () => {}, punctuate: () => {}, close: () => {} }),
    };
    const r = new StageRunner(def, { kafka, deadLetterTopic: `${RUN}.early.dlq`, groupId: `${RUN}-early`, guarantee: 'at_least_once' });
    const started = r.start();
    const closing = r.close(); // while start() still waits on the broker
    const again = r.close();
    await started;
    await Promise.all([closing, again]);
    assert.equal(consumers, 0, 'no consumer after close()');
    assert.ok(producers.length === 1 && !producers[0].connected, 'the producer start() connected is closed');
    await kafka.close();
  });
});

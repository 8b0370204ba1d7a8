import assert from 'node:assert/strict';
import { PacketPublisher, PublishError } from './publisher';
import { ComponentMetrics } from '../lib/metrics';
import { AvroCodec } from '../schemas';
import { emptyPacketSummary, type PacketSummary } from '../schemas/types';
import { packetFlowKey } from '../lib/flow-key';
import { partitionForKey, type OutMessage, type TaplineProducer } from '../lib/kafka';

/** A stand-in producer recording what would be sent (unit test of the publisher's own logic). */
class FakeProducer {
  sent: OutMessage[][] = [];
  failNext = false;
  async partitionCount(): Promise<number> { return 4; }
  async send(_topic: string, messages: OutMessage[]): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (this.failNext) { this.failNext = false; throw new Error('broker said no'); }
    this.sent.push(messages);
  }
}

const pkt = (i: number): PacketSummary => ({ ...emptyPacketSummary(), ts_ns: BigInt(i), src_ip: `10.0.0.${i % 7}`, dst_ip: '10.0.1.1',
  src_port: 1000 + (i % 13), dst_port: 80, ip_proto: 6, ip_version: 4, wire_len: 60 });

describe('PacketPublisher', () => {
  it('puts every summary in the partition of its flow key, in order, one batch message per partition', async () => {
    const prod = new FakeProducer();
    const pub = new PacketPublisher(prod as unknown as TaplineProducer, 't', new ComponentMetrics('pub-test'), 50);
    for (let i = 0; i < 173; i++) { const w = pub.add(pkt(i)); if (w) await w; }
    await pub.flush();
    const codec = new AvroCodec<{ records: PacketSummary[] }>('packet-batch.v1');
    const seen: bigint[] = [];
    for (const m of prod.sent.flat()) {
      const recs = codec.decode(m.value!).records;
      assert.equal(m.headers!['tapline.count'], String(recs.length));
      for (const r of recs) {
        assert.equal(m.partition, partitionForKey(packetFlowKey(r), 4));
        seen.push(BigInt(r.ts_ns));
      }
    }
    assert.equal(seen.length, 173);
    for (let p = 0; p < 4; p++) {
      const inP = prod.sent.flat().filter((m) => m.partition === p).flatMap((m) => codec.decode(m.value!).records.map((r) => BigInt(r.ts_ns)));
      assert.deepEqual(inP, [...inP].sort((a, b) => (a < b ? -1 : 1)), `partition ${p} keeps capture order`);
    }
  });

  it('a failed send surfaces at the next add or flush with the number of summaries lost, never as a synchronous throw', async () => {
    const prod = new FakeProducer();
    const metrics = new ComponentMetrics('pub-test-fail');
    const pub = new PacketPublisher(prod as unknown as TaplineProducer, 't', metrics, 10);
    prod.failNext = true;
    for (let i = 0; i < 10; i++) assert.equal(pub.add(pkt(i)), null); // the 10th starts the send in the background
    await new Promise((r) => setTimeout(r, 10));
    let result: Promise<void> | null = null;
    assert.doesNotThrow(() => { for (let i = 10; i < 20; i++) result = pub.add(pkt(i)) ?? result; });
    await assert.rejects(result!, (e: unknown) => e instanceof PublishError && e.lost === 10 && /broker said no/.test(e.message));
    assert.equal(metrics.totals.dropped, 0, 'the publisher leaves counting to the source');
  });
});

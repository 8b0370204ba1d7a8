/**
 * Every packet stage gives the same records on a real broker as on the in-memory driver, also
 * when its worker is stopped half-way and a new one restores the state from the changelog and
 * finishes: this checks the stages' state survives the changelog (V8 structured clone) and that
 * results do not depend on how Kafka batched the input.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { testServices } from './support/services';
import { readAll } from '../lib/pcap';
import { decodeFrame } from '../lib/decode';
import { packetFlowKey } from '../lib/flow-key';
import { KafkaClient, partitionForKey, readPartitionsToEnd } from '../lib/kafka';
import { PacketPublisher } from '../connectors/publisher';
import { ComponentMetrics } from '../lib/metrics';
import { AvroCodec } from '../schemas';
import type { PacketSummary } from '../schemas/types';
import { TopologyTestDriver } from '../pipelines/runtime/test-driver';
import { StageRunner } from '../pipelines/runtime/kafka-runner';
import type { StageDefinition } from '../pipelines/runtime/types';
import { aggregateStage } from '../pipelines/stages/aggregate';
import { metricsStage } from '../pipelines/stages/metrics';
import { parseStage } from '../pipelines/stages/parse';
import { pathLossStage } from '../pipelines/stages/pathloss';

const CORPUS = path.resolve(__dirname, '../../shared/pcaps');
const RUN = `eq-${process.pid}-${Date.now()}`;
const PARTITIONS = 4;

async function records(): Promise<PacketSummary[]> {
  const out: PacketSummary[] = [];
  // A web session and ICMP echo, each seen at two observation points (the second 1 ms later),
  // so pathloss has pairs to match; payload prefixes so parse has bytes.
  for (const f of ['zeek_http-bro.org.pcap', 'zeek_icmp-5-pings.pcap', 'tcpdump_dns_udp.pcap']) {
    for (const r of await readAll(path.join(CORPUS, f))) {
      const p = decodeFrame(r, { observationPoint: 'h1', payloadPrefix: () => 512 });
      out.push(p, { ...p, observation_point: 'h2', ts_ns: BigInt(p.ts_ns) + 1_000_000n });
    }
  }
  return out.sort((a, b) => (BigInt(a.ts_ns) < BigInt(b.ts_ns) ? -1 : BigInt(a.ts_ns) > BigInt(b.ts_ns) ? 1 : 0));
}

function canon(schema: string, values: Buffer[]): string[] {
  const codec = new AvroCodec(schema);
  const replacer = (_k: string, x: unknown) => (typeof x === 'bigint' ? `${x}n` : Buffer.isBuffer(x) ? x.toString('hex') : x);
  return values.map((v) => JSON.stringify(codec.decode(v), replacer)).sort();
}

describe('packet stages on Kafka equal the in-memory driver, across a stop and restore @integration', function () {
  this.timeout(300_000);
  const stages: [string, (t: { input: string; output: string }) => StageDefinition<PacketSummary>][] = [
    ['aggregate', (t) => aggregateStage({ inputTopic: t.input, outputTopic: t.output, lateTopic: `${t.output}.late` })],
    ['metrics', (t) => metricsStage({ inputTopic: t.input, outputTopic: t.output, inventoryTopic: `${RUN}.inventory` })],
    ['parse', (t) => parseStage({ inputTopic: t.input, outputTopic: t.output })],
    ['pathloss', (t) => pathLossStage({ inputTopic: t.input, outputTopic: t.output })],
  ];

  for (const [name, make] of stages) {
    it(`${name}: same output records`, async () => {
      const s = await testServices();
      const kafka = new KafkaClient({ brokers: s.brokers, clientId: `${RUN}-${name}`, maxBytesPerPartition: 32_768 });
      const topics = { input: `${RUN}.${name}.packets`, output: `${RUN}.${name}.out` };
      const def = make(topics);
      const outSchema = def.outputs[topics.output];
      await kafka.ensureTopics([{ topic: topics.input, partitions: PARTITIONS }]);
      const all = await records();
      const half = Math.floor(all.length / 2);

      // Reference: the driver, records partitioned exactly as the publisher places them.
      const d = new TopologyTestDriver(def, PARTITIONS);
      for (const r of all) d.pipeMessage(null, [r], partitionForKey(packetFlowKey(r), PARTITIONS));
      d.endOfStream();
      const expected = canon(outSchema, d.readOutput(topics.output).map((o) => new AvroCodec(outSchema).encode(o.value)));
      assert.ok(expected.length > 0, 'the stage produces something on this input');

      const prod = kafka.producer();
      const publish = async (rs: PacketSummary[]) => {
        const pub = new PacketPublisher(prod, topics.input, new ComponentMetrics(`${RUN}-pub`), 97);
        for (const r of rs) { const w = pub.add(r); if (w) await w; }
        await pub.flush();
      };
      const group = `${RUN}-${name}`;
      // First worker: streaming, stopped (gracefully) after the first half.
      await publish(all.slice(0, half));
      let firstHalfEnd = 0n;
      for (const o of (await kafka.endOffsets(topics.input)).values()) firstHalfEnd += o;
      const w1 = new StageRunner(make(topics), { kafka, deadLetterTopic: `${RUN}.dlq`, groupId: group });
      await w1.start();
      for (let i = 0; i < 600; i++) {
        let c = 0n;
        for (const o of (await kafka.committedOffsets(group, topics.input)).values()) if (o > 0n) c += o;
        if (c >= firstHalfEnd) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await w1.close();
      // Second worker: restores from the changelog, reads the rest, ends the stream.
      await publish(all.slice(half));
      await prod.close();
      const w2 = new StageRunner(make(topics), { kafka, deadLetterTopic: `${RUN}.dlq`, groupId: group, bounded: true });
      await w2.start(); await w2.done(); await w2.close();
      // The state of the first half really crossed over through the changelog.
      assert.equal(w1.metrics.totals.received, half, 'the first worker processed the first half');
      assert.equal(w2.metrics.totals.received, all.length - half, 'the second worker only the rest');

      const got: Buffer[] = [];
      await readPartitionsToEnd(kafka, topics.output, [...Array(PARTITIONS).keys()], (_p, m) => { got.push(m.value!); });
      assert.deepEqual(canon(outSchema, got), expected);
      // eslint-disable-next-line no-console
      console.log(`      ${name}: ${expected.length} records, ${all.length} packets`);
      await kafka.close();
    });
  }
});

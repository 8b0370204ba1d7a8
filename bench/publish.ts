/**
 * File -> decode -> Avro -> local Kafka, sustained, against the Kafka client's own ceiling
 * measured in the same run on the same broker.
 *
 *   npm run bench:publish [-- --packets 1000000] [-- --file some.pcap]
 *
 * Reference: the same number of pre-built messages of a summary's size sent one per Kafka
 * message straight through kafkajs (no decode, no encode): what a Node.js producer that sends
 * one keyed message per summary can reach here. tapline batches summaries per partition.
 * Tapline: PcapFileConnector on a capture of that many packets (built by repeating the corpus's
 * zeek_echo-connections.pcap with shifted timestamps). Drops are checked by counting the
 * records that arrived in the topic (end offsets after - before) against the packets read.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KafkaBroker } from '../lib/services/kafka-broker';
import { KafkaClient, type OutMessage } from '../lib/kafka';
import { PcapFileConnector } from '../connectors/pcap-file';
import { buildFile } from './bench-capture';

const arg = (n: string) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : undefined; };

/** Summaries in the topic: every message is a PacketBatch whose header tapline.count says how many. */
async function countIn(kafka: KafkaClient, topic: string): Promise<bigint> {
  let expected = 0n;
  for (const o of (await kafka.endOffsets(topic)).values()) expected += o;
  if (expected === 0n) return 0n;
  let messages = 0n, summaries = 0n;
  const c = kafka.consumer(`bench-count-${Date.now()}`);
  await new Promise<void>((resolve, reject) => {
    c.run([topic], async (b) => {
      for (const m of b.messages) { messages++; summaries += BigInt(m.headers['tapline.count'] ?? '1'); }
      if (messages >= expected) resolve();
    }).catch(reject);
  });
  await c.close();
  return summaries;
}

async function main(): Promise<void> {
  const packets = Number(arg('packets') ?? 1_000_000);
  const file = arg('file') ?? await buildFile(packets);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-bench-kafka-'));
  const broker = new KafkaBroker({ stateDir, port: 19392, heap: '-Xmx1g' });
  const { brokers } = await broker.start();
  const kafka = new KafkaClient({ brokers, clientId: 'bench' });
  try {
    const run = Date.now();
    await kafka.ensureTopics([{ topic: `ref-${run}`, partitions: 4 }, { topic: `tap-${run}`, partitions: 4 }]);

    // Tapline: the real connector.
    const c = new PcapFileConnector({ path: file, topic: `tap-${run}`, speed: 0, batchSize: 20000, progress: false }, kafka);
    let t = process.hrtime.bigint();
    await c.start();
    const summary = await c.done();
    await c.close();
    const tapSec = Number(process.hrtime.bigint() - t) / 1e9;
    const arrived = await countIn(kafka, `tap-${run}`);

    // Reference: same count of same-size messages straight through kafkajs.
    const size = 260;
    const value = Buffer.alloc(size, 7);
    const prod = kafka.producer();
    await prod.connect();
    t = process.hrtime.bigint();
    const batch = 5000;
    for (let i = 0; i < summary.packets; i += batch) {
      const msgs: OutMessage[] = [];
      for (let j = 0; j < batch && i + j < summary.packets; j++) msgs.push({ key: `k${(i + j) % 1000}`, value });
      await prod.send(`ref-${run}`, msgs);
    }
    const refSec = Number(process.hrtime.bigint() - t) / 1e9;
    await prod.close();

    const tapRate = summary.packets / tapSec, refRate = summary.packets / refSec;
    console.log(`file: ${file} (${summary.packets} packets)`);
    console.log(`tapline file->decode->Avro->Kafka : ${Math.round(tapRate).toLocaleString()} summaries/s (${tapSec.toFixed(2)} s), arrived ${arrived}, drops ${BigInt(summary.packets) - arrived}`);
    console.log(`kafkajs raw produce (reference)   : ${Math.round(refRate).toLocaleString()} msgs/s of ${size} B (${refSec.toFixed(2)} s)`);
    console.log(`ratio tapline / raw kafkajs       : ${(tapRate / refRate).toFixed(2)}`);
    console.log(`target 1,000,000 summaries/s      : ${tapRate >= 1e6 ? 'met' : `not met (${(tapRate / 1e6).toFixed(2)}x)`}`);
    if (arrived !== BigInt(summary.packets)) process.exitCode = 1;
  } finally {
    await kafka.close();
    await broker.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });

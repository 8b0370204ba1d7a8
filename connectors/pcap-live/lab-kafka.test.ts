/**
 * pcap-live on the lab's monitor port with a real Kafka broker, checked against tcpdump + tshark:
 * the frames and bytes of known connections, and the accounting of every frame under a flood.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaClient, readPartitionsToEnd, type InMessage } from '../../lib/kafka';
import { KafkaBroker } from '../../lib/services/kafka-broker';
import { conversationTable, exactConversations, wiresharkSize } from '../../lib/reference/tshark';
import { AvroCodec } from '../../schemas';
import type { PacketSummary } from '../../schemas/types';
import { CAPTURE_HEALTH_SCHEMA, type CaptureHealth } from '../../schemas/capture-health';
import { PcapLiveConfigSchema } from './config';
import { PcapLiveConnector } from './pcap-live';
import { lab, labAsync } from '../../test/support/lab';
import { decodePackets, labMissing } from './fixtures';

// Below the ephemeral port range (32768-60999): an outgoing connection may hold any port in it.
const KAFKA_PORT = 21092;

/** Every record of a topic, read committed, up to its current end (all partitions). */
async function readTopic(kafka: KafkaClient, topic: string): Promise<InMessage[]> {
  const got: InMessage[] = [];
  const n = await kafka.partitionCount(topic);
  await readPartitionsToEnd(kafka, topic, [...Array(n).keys()], (_p, m) => { got.push(m); });
  return got;
}

/** Oriented like lib/reference/tshark exactConversations: a = lower (address, port). */
function conversationsOf(ps: PacketSummary[]): Map<string, { a: string; b: string; framesAB: number; bytesAB: number; framesBA: number; bytesBA: number }> {
  const m = new Map<string, { a: string; b: string; framesAB: number; bytesAB: number; framesBA: number; bytesBA: number }>();
  for (const p of ps) {
    if (p.ip_proto !== 6 || p.src_ip === null || p.dst_ip === null) continue;
    const srcIsA = p.src_ip < p.dst_ip || (p.src_ip === p.dst_ip && p.src_port! <= p.dst_port!);
    const a = srcIsA ? `${p.src_ip}|${p.src_port}` : `${p.dst_ip}|${p.dst_port}`;
    const b = srcIsA ? `${p.dst_ip}|${p.dst_port}` : `${p.src_ip}|${p.src_port}`;
    let c = m.get(`${a}|${b}`);
    if (!c) { c = { a, b, framesAB: 0, bytesAB: 0, framesBA: 0, bytesBA: 0 }; m.set(`${a}|${b}`, c); }
    if (srcIsA) { c.framesAB++; c.bytesAB += p.wire_len; } else { c.framesBA++; c.bytesBA += p.wire_len; }
  }
  return m;
}

describe('pcap-live on the lab virtual switch, real Kafka, tcpdump/tshark as reference @lab @integration', function () {
  this.timeout(120_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-lab-'));
  const RUN = `lab-${process.pid}-${Date.now()}`;
  const topic = `${RUN}.packets.v1`;
  const healthTopic = `${RUN}.capture-health.v1`;
  const pcapFile = path.join(tmp, 'tl-mon-h1.pcap');
  let broker: KafkaBroker | null = null;
  let kafka: KafkaClient | null = null;
  let tcpdump: ChildProcess | null = null;
  let tcpdumpErr = '';
  let labUp = false;

  before(async function () {
    const why = labMissing();
    if (why) throw new Error(`the lab cannot run here: ${why} (bash .ci/run installs what it needs)`);
    lab('down.sh');
    lab('up.sh');
    labUp = true;
    // A fixed state directory: a broker left behind by a run that crashed is ours to stop.
    const kafkaDir = path.join(os.tmpdir(), 'tapline-lab-test-kafka');
    broker = new KafkaBroker({ stateDir: kafkaDir, port: KAFKA_PORT, numPartitions: 3 });
    await broker.stop();
    fs.rmSync(kafkaDir, { recursive: true, force: true });
    const { brokers } = await broker.start();
    kafka = new KafkaClient({ brokers, clientId: RUN });
    await kafka.ensureTopics([{ topic, partitions: 3 }]);
    // the HTTP servers start before the capture: their start makes no traffic, curl does
    for (const vm of ['vm1', 'vm2', 'vm3']) lab('traffic.sh', 'http', vm === 'vm1' ? 'vm2' : 'vm1', vm, '1');
  });

  after(async () => {
    if (tcpdump && tcpdump.exitCode === null) tcpdump.kill('SIGTERM');
    await kafka?.close().catch(() => undefined);
    await broker?.stop().catch(() => undefined);
    if (broker) fs.rmSync(broker.options.stateDir, { recursive: true, force: true });
    if (labUp) lab('down.sh');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('sees exactly the connections made, with tshark\'s frame and byte counts and the known download sizes', async () => {
    // Reference capture on the same monitor port, in parallel.
    tcpdump = spawn('tcpdump', ['-i', 'tl-mon-h1', '-nn', '-U', '--immediate-mode', '-s', '0', '-w', pcapFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    tcpdump.stderr!.on('data', (d: Buffer) => { tcpdumpErr += d.toString(); });
    for (let i = 0; i < 100 && !/listening on/.test(tcpdumpErr); i++) await sleep(50);
    assert.match(tcpdumpErr, /listening on tl-mon-h1/);

    const conn = new PcapLiveConnector(PcapLiveConfigSchema.parse({
      interface: 'tl-mon-h1', topic, healthTopic, observationPoint: 'lab:h1', healthIntervalMs: 1000, flushIntervalMs: 50,
    }), kafka!);
    await conn.start();

    // Known connections: three downloads within host h1, one from h2 to a VM on h1.
    const downloads = [
      { from: 'vm1', to: 'vm2', bytes: 100_000 },
      { from: 'vm2', to: 'vm1', bytes: 250_000 },
      { from: 'vm1', to: 'vm2', bytes: 30_000 },
      { from: 'vm1', to: 'vm3', bytes: 70_000 },
    ];
    const made: { client: string; server: string; bytes: number; sameHost: boolean }[] = [];
    for (const d of downloads) {
      const line = (await labAsync('traffic.sh', 'http', d.from, d.to, String(d.bytes))).trim();
      const m = /^http (\S+):(\d+) -> (\S+):80 code=200 bytes=(\d+)$/.exec(line);
      assert.ok(m, line);
      made.push({ client: `${m[1]}|${m[2]}`, server: `${m[3]}|80`, bytes: d.bytes, sameHost: d.to !== 'vm3' });
    }
    await sleep(1200); // at least one periodic health record
    await conn.close();
    tcpdump.kill('SIGTERM');
    await new Promise((r) => tcpdump!.once('exit', r));
    const summary = await conn.done();
    const st = conn.stats();
    assert.equal(st.dropped, 0, JSON.stringify(st.droppedByReason));
    assert.equal(st.published, st.seen);

    // Read everything back from Kafka.
    const msgs = await readTopic(kafka!, topic);
    const ps = decodePackets(msgs.map((m) => m.value));
    assert.equal(ps.length, summary.packets);

    // tcpdump saw exactly as many frames, with the same wire bytes.
    const tcpdumpFrames = /(\d+) packets? captured/.exec(tcpdumpErr);
    assert.ok(tcpdumpFrames, tcpdumpErr);
    assert.equal(ps.length, Number(tcpdumpFrames[1]), 'frames: pcap-live vs tcpdump');
    assert.equal(ps.reduce((a, p) => a + p.wire_len, 0), summary.bytes);

    // Per TCP conversation: exactly tshark's frames and bytes, both directions.
    const ours = conversationsOf(ps);
    const ref = exactConversations(pcapFile, 'tcp');
    assert.deepEqual([...ours.keys()].sort(), [...ref.keys()].sort());
    for (const [k, r] of ref) assert.deepEqual(ours.get(k), r, k);
    const table = conversationTable(pcapFile, 'tcp');
    assert.equal(table.length, made.length);
    for (const row of table) {
      const [ha, pa] = [row.a.slice(0, row.a.lastIndexOf(':')), row.a.slice(row.a.lastIndexOf(':') + 1)];
      const [hb, pb] = [row.b.slice(0, row.b.lastIndexOf(':')), row.b.slice(row.b.lastIndexOf(':') + 1)];
      const key = [`${ha}|${pa}`, `${hb}|${pb}`].sort().join('|');
      const c = ours.get(key);
      assert.ok(c, key);
      assert.equal(c.framesAB + c.framesBA, row.frames, `${key} frames vs tshark conv,tcp`);
      assert.equal(wiresharkSize(c.bytesAB + c.bytesBA), row.bytes, `${key} bytes vs tshark conv,tcp`);
    }

    // Exactly the connections we made, and each carried its file: the server's unique TCP
    // payload (mirrored copies removed) is the HTTP header plus Content-Length = the file size.
    assert.deepEqual([...ours.keys()].sort(), made.map((c) => [c.client, c.server].sort().join('|')).sort());
    for (const c of made) {
      const [sip] = c.server.split('|');
      const [cip, cport] = c.client.split('|');
      const fromServer = ps.filter((p) => p.ip_proto === 6 && p.src_ip === sip && p.src_port === 80 && p.dst_ip === cip && p.dst_port === Number(cport));
      const unique = new Map<string, PacketSummary>();
      for (const p of fromServer) unique.set(`${p.tcp_seq}|${p.tcp_ack}|${p.tcp_flags}|${p.l4_payload_len}|${p.ip_id}`, p);
      // mirror mode "both": a frame between two VMs of h1 passes two mirrored ports
      assert.equal(fromServer.length, unique.size * (c.sameHost ? 2 : 1), `${c.client}: copies per frame`);
      // bytes of the stream the server sent: highest sequence reached past its SYN-ACK's ISN
      // (a retransmission, which does happen on a busy 2-core machine, adds nothing)
      const synAck = fromServer.find((p) => ((p.tcp_flags ?? 0) & 0x12) === 0x12);
      assert.ok(synAck, 'the SYN-ACK was captured');
      const isn = BigInt(synAck.tcp_seq!);
      let payload = 0;
      for (const p of fromServer) {
        if (p.l4_payload_len === 0) continue;
        const end = Number(((BigInt(p.tcp_seq!) - isn - 1n) % 4294967296n + 4294967296n) % 4294967296n) + p.l4_payload_len;
        if (end > payload) payload = end;
      }
      const first = [...unique.values()].find((p) => p.l4_payload_len > 0 && p.payload_prefix);
      assert.ok(first?.payload_prefix, 'the response head is kept (HTTP payload policy)');
      const head = first.payload_prefix.toString('latin1');
      assert.match(head, /^HTTP\/1\.[01] 200 /);
      assert.equal(Number(/Content-Length: (\d+)/i.exec(head)?.[1]), c.bytes);
      const headerLen = head.indexOf('\r\n\r\n') + 4;
      assert.ok(headerLen > 4);
      assert.equal(payload, headerLen + c.bytes, `${c.client} <- ${c.server}: payload bytes = header + ${c.bytes}`);
    }

    // Capture health: the final record agrees, and the kernel lost nothing.
    const hcodec = new AvroCodec<CaptureHealth>(CAPTURE_HEALTH_SCHEMA);
    const hs = (await readTopic(kafka!, healthTopic)).map((m) => hcodec.decode(m.value!));
    const final = hs.find((h) => h.final);
    assert.ok(final, 'a final health record');
    assert.equal(final.packets_seen, BigInt(ps.length));
    assert.equal(final.packets_published, BigInt(ps.length));
    assert.equal(final.pipeline_drops, 0n);
    assert.equal(final.interface, 'tl-mon-h1');
    assert.equal(final.observation_point, 'lab:h1');
    assert.equal(final.interface_drops, 0n);
    assert.equal(final.interface_packets, BigInt(ps.length), 'every frame the monitor port received reached tapline');
    assert.ok(hs.length >= 2, 'periodic records as well as the final one');
    // eslint-disable-next-line no-console
    console.log(`      live: ${ps.length} frames, ${summary.bytes} bytes, ${ours.size} TCP conversations, equal to tcpdump/tshark`);
  });

  it('under an iperf3 flood every frame is accounted for: published + pipeline drops = seen, interface - seen = lost in the kernel', async () => {
    const floodTopic = `${RUN}.flood.v1`;
    await kafka!.ensureTopics([{ topic: floodTopic, partitions: 3 }]);
    const conn = new PcapLiveConnector(PcapLiveConfigSchema.parse({
      interface: 'tl-mon-h1', topic: floodTopic, healthTopic, observationPoint: 'lab:h1:flood', maxQueuedPackets: 20_000, bufferSize: 4 << 20,
    }), kafka!);
    await conn.start();
    const t0 = Date.now();
    const out = await labAsync('traffic.sh', 'iperf', 'vm1', 'vm2', '3', '-b', '0'); // unlimited, within h1
    const secs = (Date.now() - t0) / 1000;
    await sleep(300);
    await conn.close();
    const st = conn.stats();
    const final = conn.healthRecord(true);
    const iface = Number(final.interface_packets);
    assert.equal(st.published + st.dropped, st.seen, 'seen = published + dropped');
    assert.ok(st.seen <= iface, 'the interface counted at least what libpcap delivered');
    assert.ok(st.seen > 10_000, `a flood: ${st.seen} frames`);
    const inKafka = decodePackets((await readTopic(kafka!, floodTopic)).map((m) => m.value)).length;
    assert.equal(inKafka, st.published, 'Kafka holds exactly what was counted as published');
    // eslint-disable-next-line no-console
    console.log(`      flood (${secs.toFixed(1)} s, iperf3 ${/([\d.]+ [GM]bits\/sec)\s+receiver/.exec(out)?.[1] ?? '?'}): interface ${iface} frames, ` +
      `libpcap delivered ${st.seen} (${Math.round(st.seen / secs)}/s; ${iface - st.seen} lost before libpcap), published ${st.published}, ` +
      `dropped by tapline ${st.dropped} ${JSON.stringify(st.droppedByReason)}`);
  });
});

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KafkaClient } from '../../lib/kafka';
import { KafkaBroker } from '../../lib/services/kafka-broker';
import type { PacketSummary } from '../../schemas/types';
import { createConnector } from '../registry';
import { MirrorConnector, type PacketSink } from './mirror';
import { MirrorConfigSchema, type MirrorConfig } from './config';
import { parseTunnel } from './tunnel';
import { junkDatagrams, packetsInMessage, sendDatagrams, udpPayloads, waitFor } from '../udp/udp-replay';

const PCAPS = path.resolve(__dirname, '../../../shared/pcaps');
const FILES = [
  { file: 'zeek_tunnels-vxlan.pcap', port: 4789, enc: 'vxlan' as const },
  { file: 'zeek_tunnels-vxlan-encapsulated-http.pcap', port: 4789, enc: 'vxlan' as const },
  { file: 'zeek_tunnels-geneve.pcap', port: 6081, enc: 'geneve' as const },
  { file: 'zeek_tunnels-geneve-many-options.pcap', port: 6081, enc: 'geneve' as const },
];

class CollectSink implements PacketSink {
  readonly got: PacketSummary[] = [];
  add(p: PacketSummary): null { this.got.push(p); return null; }
  async flush(): Promise<void> { /* nothing queued */ }
}

interface Expected { vni: number; src: string | null; dst: string | null; proto: number | null; sport: number | null; dport: number | null }

/** tshark's view of the inner packet of every tunnelled frame: VNI, inner addresses, protocol, ports. */
function tsharkInner(file: string, enc: 'vxlan' | 'geneve'): Expected[] {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'separator=\t',
    '-e', `${enc}.vni`, '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.proto', '-e', 'arp.src.proto_ipv4', '-e', 'arp.dst.proto_ipv4',
    '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'tcp.srcport', '-e', 'tcp.dstport'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').filter((l) => l.length > 0).map((line) => {
    const [vni, ips, ipd, proto, arps, arpd, us, ud, ts, td] = line.split('\t').map((f) => f.split(','));
    const innerIp = ips.length > 1;
    const innerUdp = us.length > 1;
    return {
      vni: Number(vni[0]),
      src: innerIp ? ips[1] : arps[0] || null,
      dst: innerIp ? ipd[1] : arpd[0] || null,
      proto: innerIp ? Number(proto[1]) : null,
      sport: innerUdp ? Number(us[1]) : ts[0] ? Number(ts[0]) : null,
      dport: innerUdp ? Number(ud[1]) : td[0] ? Number(td[0]) : null,
    };
  });
}

function config(over: Partial<MirrorConfig>): MirrorConfig {
  return MirrorConfigSchema.parse({ host: '127.0.0.1', port: 0, ...over });
}

function innerView(p: PacketSummary): Expected {
  return {
    vni: Number(p.tunnel_id),
    src: p.src_ip ?? p.arp_sender_ip,
    dst: p.dst_ip ?? p.arp_target_ip,
    proto: p.ip_proto,
    sport: p.src_port,
    dport: p.dst_port,
  };
}

describe('mirror connector', function () {
  this.timeout(30_000);

  it('parses VXLAN and GENEVE headers and rejects bad ones', () => {
    const vx = Buffer.from('0800000000007b00', 'hex');
    assert.equal(parseTunnel(vx, 'vxlan'), 'empty-inner-frame');
    const frame = Buffer.concat([vx, Buffer.alloc(14)]);
    assert.deepEqual(parseTunnel(frame, 'vxlan'), { vni: 123, offset: 8, linkType: 1 });
    frame[0] = 0;
    assert.equal(parseTunnel(frame, 'vxlan'), 'vxlan-no-vni-flag');
    assert.equal(parseTunnel(Buffer.alloc(5), 'vxlan'), 'truncated-vxlan');
    // GENEVE with 2 words of options, protocol 0x6558 (Ethernet), VNI 0x0a0b0c
    const gn = Buffer.concat([Buffer.from('0200655800a0b0c00', 'hex').subarray(0, 8), Buffer.alloc(8), Buffer.alloc(20)]);
    gn.writeUInt16BE(0x6558, 2); gn[4] = 0x0a; gn[5] = 0x0b; gn[6] = 0x0c;
    assert.deepEqual(parseTunnel(gn, 'geneve'), { vni: 0x0a0b0c, offset: 16, linkType: 1 });
    gn[0] = 0x40;
    assert.equal(parseTunnel(gn, 'geneve'), 'bad-geneve-version');
    gn[0] = 0x3f; // 252 bytes of options, more than there is
    assert.equal(parseTunnel(gn, 'geneve'), 'truncated-geneve');
    gn[0] = 0; gn.writeUInt16BE(0x1234, 2);
    assert.equal(parseTunnel(gn, 'geneve'), 'geneve-unsupported-protocol');
  });

  for (const { file, port, enc } of FILES) {
    it(`receives ${file} as real datagrams and agrees with tshark (inner addresses, ports, VNI)`, async () => {
      const full = path.join(PCAPS, file);
      const expected = tsharkInner(full, enc);
      const datagrams = await udpPayloads(full, port);
      assert.equal(datagrams.length, expected.length);
      const sink = new CollectSink();
      const c = new MirrorConnector(config({ encapsulation: enc }), null, sink);
      await c.start();
      try {
        await sendDatagrams(datagrams.map((d) => d.payload), '127.0.0.1', c.port);
        assert.ok(await waitFor(() => sink.got.length === datagrams.length), `received ${sink.got.length}/${datagrams.length}`);
      } finally {
        await c.close();
      }
      assert.deepEqual(sink.got.map(innerView), expected);
      for (const p of sink.got) {
        assert.equal(p.tunnel_type, enc === 'vxlan' ? 'VXLAN' : 'GENEVE');
        assert.equal(p.outer_src_ip, '127.0.0.1');
        assert.equal(p.outer_dst_ip, '127.0.0.1');
        assert.equal(p.observation_point, `mirror:${c.port}`);
        assert.equal(p.malformed, null);
        assert.equal(p.link_type, 1);
        assert.ok(p.wire_len > 0 && p.wire_len === p.cap_len);
        const now = BigInt(Date.now()) * 1_000_000n;
        assert.ok(BigInt(p.ts_ns) <= now && BigInt(p.ts_ns) > now - 60_000_000_000n);
      }
      // receive timestamps are monotonic
      for (let i = 1; i < sink.got.length; i++) assert.ok(BigInt(sink.got[i].ts_ns) >= BigInt(sink.got[i - 1].ts_ns));
      assert.equal(c.stats.datagrams, datagrams.length);
      assert.equal(c.stats.malformed.size, 0);
      const sum = await c.done();
      assert.equal(sum.packets, datagrams.length);
    });
  }

  it('counts random and truncated datagrams and never crashes', async () => {
    const sink = new CollectSink();
    const c = new MirrorConnector(config({ encapsulation: 'vxlan' }), null, sink);
    const g = new MirrorConnector(config({ encapsulation: 'geneve' }), null, new CollectSink());
    await c.start();
    await g.start();
    const real = [
      ...(await udpPayloads(path.join(PCAPS, 'zeek_tunnels-vxlan-encapsulated-http.pcap'), 4789)),
      ...(await udpPayloads(path.join(PCAPS, 'zeek_tunnels-geneve-many-options.pcap'), 6081)),
    ].map((d) => d.payload);
    const junk = junkDatagrams(real, { seed: 7, count: 600, flips: 8, noiseMax: 200 });
    try {
      await sendDatagrams(junk, '127.0.0.1', c.port);
      await sendDatagrams(junk, '127.0.0.1', g.port);
      assert.ok(await waitFor(() => c.stats.datagrams === junk.length && g.stats.datagrams === junk.length));
    } finally {
      await c.close();
      await g.close();
    }
    for (const x of [c, g]) {
      const rejected = [...x.stats.malformed.values()].reduce((a, b) => a + b, 0);
      assert.ok(rejected > 0, 'some datagrams rejected');
      assert.equal(rejected + x.stats.published, junk.length);
      assert.equal(x.metrics.droppedByReason.get('malformed'), rejected);
      assert.equal(x.decodeStats.byCode.get('decoder-error'), undefined);
    }
    assert.ok(c.decodeStats.malformedTotal > 0, 'inner frames marked malformed are still published');
  });

  it('drops and counts when the publisher is behind (bounded memory)', async () => {
    const held: Array<() => void> = [];
    let added = 0;
    const slow: PacketSink = {
      add: () => { added++; return new Promise<void>((r) => held.push(r)); }, // every add "sends" a batch that never completes
      flush: async () => undefined,
    };
    const c = new MirrorConnector(config({ encapsulation: 'vxlan', maxInflightBatches: 3, flushIntervalMs: 60_000 }), null, slow);
    await c.start();
    const d = (await udpPayloads(path.join(PCAPS, 'zeek_tunnels-vxlan.pcap'), 4789)).map((x) => x.payload);
    const many = Array.from({ length: 50 }, (_, i) => d[i % d.length]);
    await sendDatagrams(many, '127.0.0.1', c.port);
    assert.ok(await waitFor(() => c.stats.datagrams === 50));
    assert.equal(added, 3);
    assert.equal(c.stats.droppedBackpressure, 47);
    assert.equal(c.metrics.droppedByReason.get('backpressure'), 47);
    held.forEach((r) => r()); // Kafka catches up: the next datagram is accepted again
    await new Promise((r) => setTimeout(r, 20));
    await sendDatagrams([d[0]], '127.0.0.1', c.port);
    assert.ok(await waitFor(() => added === 4));
    held.forEach((r) => r());
    await c.close();
    await c.close(); // twice is safe
  });

  it('counts the datagrams the kernel drops while the receiver is stalled (socket buffer full)', async function () {
    if (spawnSync('python3', ['-V']).status !== 0 || !fs.existsSync('/proc/net/udp')) throw new Error('needs python3 and /proc/net/udp');
    const c = new MirrorConnector(config({ encapsulation: 'vxlan' }), null, new CollectSink());
    await c.start();
    const n = 20_000;
    // spawnSync blocks this process's event loop: the socket is not read while python floods it
    const r = spawnSync('python3', ['-c', `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nd=bytes([8,0,0,0,0,0,42,0])+bytes(1000)\nfor i in range(${n}):\n  s.sendto(d,('127.0.0.1',${c.port}))`]);
    assert.equal(r.status, 0, String(r.stderr));
    let last = -1;
    while (c.stats.datagrams !== last) { last = c.stats.datagrams; await new Promise((res) => setTimeout(res, 100)); }
    c.pollSocketDrops(true);
    await c.close();
    assert.ok(c.stats.droppedSocketBuffer > 0, 'the flood overflowed the socket buffer');
    assert.equal(c.stats.datagrams + c.stats.droppedSocketBuffer, n);
    assert.equal(c.metrics.droppedByReason.get('socket-buffer'), c.stats.droppedSocketBuffer);
  });

  it('is registered and rejects a busy port with an IO error', async () => {
    const blocker = dgram.createSocket('udp4');
    await new Promise<void>((r) => blocker.bind(0, '127.0.0.1', () => r()));
    const c = new MirrorConnector(config({ port: blocker.address().port }), null, new CollectSink());
    await assert.rejects(c.start(), (e: Error & { code?: string }) => e.code === 'IO');
    blocker.close();
    await c.close();
    assert.throws(() => createConnector('mirror', { prot: 1 }, null as never), /prot/);
    const made = createConnector('mirror', { port: 6081 }, null as never) as MirrorConnector;
    assert.equal(made.observationPoint, 'mirror:6081');
  });
});

describe('mirror connector -> Kafka @integration', function () {
  this.timeout(180_000);
  const TOPIC = 'tapline.packets.v1';
  let broker: KafkaBroker;
  let kafka: KafkaClient;
  let stateDir: string;

  before(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-mirror-kafka-'));
    broker = new KafkaBroker({ stateDir, port: 21192 }); // below the ephemeral range (32768-60999)
    const { brokers } = await broker.start();
    kafka = new KafkaClient({ brokers, clientId: 'mirror-test' });
    await kafka.ensureTopics([{ topic: TOPIC, partitions: 3 }]);
  });

  after(async () => {
    await kafka?.close();
    await broker?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('publishes Avro PacketSummary records that match tshark', async () => {
    const file = path.join(PCAPS, 'zeek_tunnels-vxlan-encapsulated-http.pcap');
    const expected = tsharkInner(file, 'vxlan');
    const datagrams = await udpPayloads(file, 4789);
    const before = await kafka.endOffsets(TOPIC);
    const c = createConnector('mirror', { host: '127.0.0.1', port: 0, observationPoint: 'mirror:it' }, kafka) as MirrorConnector;
    await c.start();
    await sendDatagrams(datagrams.map((d) => d.payload), '127.0.0.1', c.port);
    assert.ok(await waitFor(() => c.stats.datagrams === datagrams.length));
    await c.close();
    assert.equal(c.metrics.totals.sent, datagrams.length);

    const got: PacketSummary[] = [];
    const consumer = kafka.consumer(`mirror-it-${Date.now()}`);
    await consumer.run([TOPIC], async (batch) => {
      for (const m of batch.messages) {
        if (m.offset < (before.get(batch.partition) ?? 0n)) continue;
        for (const p of packetsInMessage(m.value!)) if (p.observation_point === 'mirror:it') got.push(p);
      }
    });
    const ok = await waitFor(() => got.length >= datagrams.length, 30_000);
    await consumer.close();
    assert.ok(ok, `consumed ${got.length}/${datagrams.length}`);
    got.sort((a, b) => (BigInt(a.ts_ns) < BigInt(b.ts_ns) ? -1 : 1));
    assert.deepEqual(got.map(innerView), expected);
    assert.ok(got.every((p) => p.tunnel_type === 'VXLAN' && p.outer_src_ip === '127.0.0.1'));
  });
});

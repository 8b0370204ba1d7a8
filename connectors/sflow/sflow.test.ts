import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KafkaClient } from '../../lib/kafka';
import { KafkaBroker } from '../../lib/services/kafka-broker';
import { AvroCodec } from '../../schemas';
import { INTERFACE_COUNTERS_SCHEMA, INTERFACE_COUNTERS_TOPIC, type InterfaceCounters } from '../../schemas/interface-counters';
import type { PacketSummary } from '../../schemas/types';
import { createConnector } from '../registry';
import { junkDatagrams, packetsInMessage, sendDatagrams, udpPayloads, waitFor } from '../udp/udp-replay';
import type { PacketSink } from '../udp/udp-source';
import { SflowConnector, type CounterSink } from './sflow';
import { SflowConfigSchema } from './config';
import { parseSflow, SflowParseError } from './parse';
import { SequenceTracker } from './sequence';

const PCAPS = path.resolve(__dirname, '../../../shared/pcaps');
const NDPI = path.join(PCAPS, 'ndpi_sflow.pcap');
const HP = path.join(PCAPS, 'tcpdump_sflow_multiple_counter_30_pdus.pcap');

class Sinks {
  readonly packets: PacketSummary[] = [];
  readonly counters: InterfaceCounters[] = [];
  readonly packetSink: PacketSink = { add: (p) => { this.packets.push(p); return null; }, flush: async () => undefined };
  readonly counterSink: CounterSink = { add: (c) => { this.counters.push(c); return null; }, flush: async () => undefined };
}

function tshark(file: string, fields: string[]): string[][][] {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'separator=\t', ...fields.flatMap((f) => ['-e', f])],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t').map((v) => (v === '' ? [] : v.split(','))));
}

const GENERIC: Array<[string, string]> = [
  ['sflow_245.ifindex', 'if_index'], ['sflow_245.iftype', 'if_type'], ['sflow_245.ifspeed', 'if_speed'], ['sflow_245.ifdirection', 'if_direction'],
  ['sflow_245.ifadmin_status', 'if_admin_up'], ['sflow_245.ifoper_status', 'if_oper_up'],
  ['sflow_245.ifinoct', 'in_octets'], ['sflow_245.ifinpkt', 'in_ucast_pkts'], ['sflow_245.ifinmcast', 'in_multicast_pkts'], ['sflow_245.ifinbcast', 'in_broadcast_pkts'],
  ['sflow_245.ifindisc', 'in_discards'], ['sflow_245.ifinerr', 'in_errors'], ['sflow_245.ifinunk', 'in_unknown_protos'],
  ['sflow_245.ifoutoct', 'out_octets'], ['sflow_245.ifoutpkt', 'out_ucast_pkts'], ['sflow_245.ifoutmcast', 'out_multicast_pkts'], ['sflow_245.ifoutbcast', 'out_broadcast_pkts'],
  ['sflow_245.ifoutdisc', 'out_discards'], ['sflow_245.ifouterr', 'out_errors'], ['sflow_245.ifpromisc', 'promiscuous'],
];
const ETHERNET: Array<[string, string]> = [
  ['AlignmentErrors', 'alignment_errors'], ['FCSErrors', 'fcs_errors'], ['SingleCollisionFrames', 'single_collision_frames'],
  ['MultipleCollisionFrames', 'multiple_collision_frames'], ['SQETestErrors', 'sqe_test_errors'], ['DeferredTransmissions', 'deferred_transmissions'],
  ['LateCollisions', 'late_collisions'], ['ExcessiveCollisions', 'excessive_collisions'], ['InternalMacTransmitErrors', 'internal_mac_transmit_errors'],
  ['CarrierSenseErrors', 'carrier_sense_errors'], ['FrameTooLongs', 'frame_too_longs'], ['InternalMacReceiveErrors', 'internal_mac_receive_errors'],
  ['SymbolErrors', 'symbol_errors'],
].map(([t, o]) => [`sflow_245.dot3Stats${t}`, o]);

// null = the agent sent all ones (unknown), which tshark prints raw
const norm = (v: unknown): string => (typeof v === 'boolean' ? (v ? '1' : '0') : v === null ? 'unknown' : String(v));
const UNKNOWN = new Set(['4294967295', '18446744073709551615']);

/** tshark's counter values, column by column, concatenated over the file (in sample order). */
function tsharkCounters(file: string): { generic: Record<string, string[]>; ethernet: Record<string, string[]> } {
  const cols = [...GENERIC, ...ETHERNET];
  // frames tshark itself flags malformed (it mis-parses host sFlow structures 2000-2006 and then
  // reports counters that are not there; tcpdump -vv parses them correctly) are left out
  const rows = tshark(file, [...cols.map(([t]) => t), '_ws.expert']).filter((r) => (r[cols.length] ?? []).length === 0);
  const res = { generic: {} as Record<string, string[]>, ethernet: {} as Record<string, string[]> };
  cols.forEach(([, ours], i) => {
    const target = i < GENERIC.length ? res.generic : res.ethernet;
    const vals = rows.flatMap((r) => r[i] ?? []);
    // ifPromiscuousMode is an SNMP TruthValue (1 true, 2 false); tshark prints it raw
    target[ours] = ours === 'promiscuous' ? vals.map((v) => (v === '1' ? '1' : '0')) : vals.map((v) => (UNKNOWN.has(v) ? 'unknown' : v));
  });
  return res;
}

function ourCounters(recs: InterfaceCounters[]): { generic: Record<string, string[]>; ethernet: Record<string, string[]> } {
  const res = { generic: {} as Record<string, string[]>, ethernet: {} as Record<string, string[]> };
  for (const [, k] of GENERIC) res.generic[k] = recs.filter((r) => r.generic).map((r) => norm((r.generic as unknown as Record<string, unknown>)[k]));
  for (const [, k] of ETHERNET) res.ethernet[k] = recs.filter((r) => r.ethernet).map((r) => norm((r.ethernet as unknown as Record<string, unknown>)[k]));
  return res;
}

async function replay(files: string[], over: Record<string, unknown> = {}, mutate?: (p: Buffer[]) => Buffer[]): Promise<{ c: SflowConnector; sinks: Sinks; sent: number }> {
  const sinks = new Sinks();
  const c = new SflowConnector(SflowConfigSchema.parse({ host: '127.0.0.1', port: 0, ...over }), null, { packets: sinks.packetSink, counters: sinks.counterSink });
  await c.start();
  let payloads: Buffer[] = [];
  for (const f of files) payloads.push(...(await udpPayloads(f, 6343)).map((d) => d.payload));
  if (mutate) payloads = mutate(payloads);
  try {
    await sendDatagrams(payloads, '127.0.0.1', c.port, 16);
    // UDP: on a very busy machine the kernel may drop datagrams at a full socket buffer; the
    // connector counts those (socket-buffer drops), so every datagram is received or counted
    const accounted = () => { c.pollSocketDrops(true); return c.stats.datagrams + c.stats.droppedSocketBuffer; };
    assert.ok(await waitFor(() => accounted() === payloads.length), `received ${c.stats.datagrams} + kernel-dropped ${c.stats.droppedSocketBuffer} of ${payloads.length}`);
  } finally {
    await c.close();
  }
  return { c, sinks, sent: payloads.length };
}

describe('sflow connector', function () {
  this.timeout(30_000);

  it('parses every datagram header like tshark (agent, sub-agent, sequence, uptime, sample counts)', async () => {
    for (const file of [NDPI, HP]) {
      const rows = tshark(file, ['sflow_245.agent', 'sflow_245.sub_agent_id', 'sflow_245.sequence_number', 'sflow_245.numsamples', 'sflow_245.sysuptime', 'sflow_245.sampletype', 'udp.payload']);
      let compared = 0;
      for (const [agent, sub, seq, n, , types, payload] of rows) {
        const buf = Buffer.from(payload[0], 'hex');
        if (agent.length === 0) {
          // not sFlow v5 (the HP capture has NetFlow v5 datagrams sent to 6343)
          assert.throws(() => parseSflow(buf), (e: SflowParseError) => e.reason === 'unsupported-version');
          continue;
        }
        const dg = parseSflow(buf);
        assert.equal(dg.agent, agent[0]);
        assert.equal(dg.subAgentId, Number(sub[0]));
        assert.equal(dg.sequence, Number(seq[0]));
        assert.equal(dg.samples.length + dg.otherSamples, Number(n[0]));
        assert.deepEqual(dg.samples.map((s) => (s.kind === 'flow' ? (s.expanded ? 3 : 1) : s.expanded ? 4 : 2)), types.map(Number));
        compared++;
      }
      assert.ok(compared >= 9);
    }
  });

  it('replays ndpi_sflow.pcap: flow sample -> PacketSummary with sampling rate, frame length and inner 5-tuple as tshark shows', async () => {
    const { c, sinks, sent } = await replay([NDPI]);
    assert.equal(sent, 9);
    const rows = tshark(NDPI, ['sflow.flow_sample.sampling_rate', 'sflow_245.header.frame_length', 'sflow_245.header_protocol', 'ip.src', 'ip.dst', 'ip.proto', 'vlan.id', 'icmp.type', 'icmp.seq'])
      .filter((r) => r[0].length > 0);
    assert.equal(rows.length, 1);
    assert.equal(sinks.packets.length, 1);
    const [rate, flen, , src, dst, proto, vlan, itype] = rows[0];
    const p = sinks.packets[0];
    assert.equal(p.sampling_rate, Number(rate[0]));
    assert.equal(p.sampling_rate, 2048);
    assert.equal(p.wire_len, Number(flen[0]));
    assert.equal(p.src_ip, src[1]);
    assert.equal(p.dst_ip, dst[1]);
    assert.equal(p.ip_proto, Number(proto[1]));
    assert.deepEqual(p.vlan_ids, vlan.map(Number));
    assert.equal(p.icmp_type, Number(itype[0]));
    assert.equal(p.malformed, null);
    assert.equal(p.observation_point, 'sflow:172.21.35.17/1043');
    assert.equal(c.stats.flowSamples, 1);
    assert.equal(c.stats.counterSamples, 8);
    assert.equal(sinks.counters.length, 8);
    assert.deepEqual(ourCounters(sinks.counters), tsharkCounters(NDPI));
    assert.equal(c.sequences.counts.lost, 0);
    assert.equal(c.stats.malformed.size, 0);
  });

  it('replays the 30-PDU HP capture: expanded counter samples match tshark value for value; NetFlow datagrams are rejected and counted', async () => {
    const { c, sinks } = await replay([HP]);
    const expected = tsharkCounters(HP);
    const ours = ourCounters(sinks.counters);
    assert.equal(ours.generic.if_index.length, expected.generic.if_index.length);
    assert.ok(ours.generic.if_index.length > 100);
    assert.deepEqual(ours, expected);
    assert.equal(c.stats.malformed.get('unsupported-version'), 5); // frames 13, 19-22 are NetFlow v5 sent to 6343
    assert.equal(c.metrics.droppedByReason.get('malformed'), 5);
    // frames 12 and 18 (host sFlow structures 2000-2006, which tshark 4.0 mis-parses) carry no interface counters
    assert.equal(c.stats.counterSamplesSkipped, 2);
    assert.equal(c.stats.counterSamples, sinks.counters.length + 2);
    assert.ok(sinks.counters.every((r) => r.generic !== null && r.ethernet !== null));
    const first = sinks.counters[0];
    assert.equal(first.agent, '15.184.8.4');
    assert.equal(first.sub_agent_id, 2);
    assert.equal(first.datagram_sequence, 204720);
    assert.equal(first.sample_sequence, 87096);
    assert.equal(first.source_id_index, 55);
    // the AVRO codec accepts what the collector builds
    const codec = new AvroCodec<InterfaceCounters>(INTERFACE_COUNTERS_SCHEMA);
    const back = codec.decode(codec.encode(first));
    assert.equal(back.generic!.in_octets, 820721n);
    assert.equal(c.sequences.counts.lost, 0);
  });

  it('counts sequence gaps per agent/sub-agent as lost datagrams, and takes late ones back', async () => {
    const hp = await udpPayloads(HP, 6343);
    // frames 3 and 25 (agent 15.184.1.195/1, sequences 10499683 and 10499687) never arrive
    const { c } = await replay([HP], {}, (p) => p.filter((_, i) => hp[i].frame !== 3 && hp[i].frame !== 25));
    assert.equal(c.sequences.counts.lost, 2);
    assert.equal(c.metrics.droppedByReason.get('sequence-gap'), 2);
    // frame 4 before frame 3: counted lost when 4 arrives, taken back when 3 arrives late
    const { c: r } = await replay([HP], {}, (p) => { const q = [...p]; [q[2], q[3]] = [q[3], q[2]]; return q; });
    assert.equal(r.sequences.counts.lost, 0);
    assert.equal(r.sequences.counts.reordered, 1);

    const t = new SequenceTracker();
    assert.equal(t.observe('a', 10, 1000), 0);
    assert.equal(t.observe('a', 15, 2000), 4);
    assert.equal(t.observe('a', 15, 2000), 0); // duplicate
    assert.equal(t.observe('a', 1, 10), 0); // agent restarted (sequence back to 1)
    assert.equal(t.observe('a', 3, 20), 1);
    assert.equal(t.observe('b', 0xfffffffe, 5), 0);
    assert.equal(t.observe('b', 2, 6), 3); // 32-bit wrap: ffffffff, 0, 1 missing
    assert.deepEqual(t.counts, { lost: 8, duplicates: 1, reordered: 0, resets: 1 });
  });

  it('survives random, truncated and corrupted datagrams, counting every rejected one', async () => {
    const real = [...(await udpPayloads(NDPI, 6343)), ...(await udpPayloads(HP, 6343))].map((d) => d.payload);
    // half the noise starts with sFlow version 5, so it reaches the parser beyond the version check
    const junk = junkDatagrams(real, { seed: 11, count: 1500, flips: 6, noiseMax: 300, dressNoise: (b, rnd) => { if (rnd(2) && b.length >= 4) b.writeUInt32BE(5, 0); } });
    const { c, sinks } = await replay([], {}, () => [...junk, ...real]);
    const rejected = [...c.stats.malformed.values()].reduce((a, b) => a + b, 0);
    assert.equal(c.stats.datagrams + c.stats.droppedSocketBuffer, junk.length + real.length);
    assert.ok(rejected > 1000, `rejected ${rejected}`);
    assert.equal(c.metrics.droppedByReason.get('malformed'), rejected);
    assert.equal(c.stats.malformed.get('parser-error'), undefined);
    assert.equal(c.decodeStats.byCode.get('decoder-error'), undefined);
    assert.equal(c.metrics.totals.errors, 0);
    // the good datagrams at the end are still decoded normally
    assert.ok(sinks.packets.some((p) => p.src_ip === '172.21.32.254' && p.sampling_rate === 2048));
  });

  it('is registered with its defaults', () => {
    const c = createConnector('sflow', {}, null as never) as SflowConnector;
    assert.equal(c.type, 'sflow');
    assert.throws(() => createConnector('sflow', { prot: 6343 }, null as never), /prot/);
    const cfg = SflowConfigSchema.parse({});
    assert.equal(cfg.port, 6343);
    assert.equal(cfg.countersTopic, INTERFACE_COUNTERS_TOPIC);
  });
});

describe('sflow connector -> Kafka @integration', function () {
  this.timeout(180_000);
  let broker: KafkaBroker;
  let kafka: KafkaClient;
  let stateDir: string;
  const PACKETS = 'tapline.packets.v1';

  before(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-sflow-kafka-'));
    broker = new KafkaBroker({ stateDir, port: 21192 }); // below the ephemeral range (32768-60999)
    const { brokers } = await broker.start();
    kafka = new KafkaClient({ brokers, clientId: 'sflow-test' });
    await kafka.ensureTopics([{ topic: PACKETS, partitions: 3 }, { topic: INTERFACE_COUNTERS_TOPIC, partitions: 3 }]);
  });

  after(async () => {
    await kafka?.close();
    await broker?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('publishes PacketSummary and InterfaceCounters records that match tshark', async () => {
    const c = createConnector('sflow', { host: '127.0.0.1', port: 0 }, kafka) as SflowConnector;
    await c.start();
    const payloads = [...(await udpPayloads(NDPI, 6343)), ...(await udpPayloads(HP, 6343))].map((d) => d.payload);
    await sendDatagrams(payloads, '127.0.0.1', c.port);
    assert.ok(await waitFor(() => c.stats.datagrams === payloads.length));
    await c.close();
    const nCounters = c.stats.countersPublished;
    assert.equal(c.metrics.totals.sent, 1 + nCounters);

    const cc = new AvroCodec<InterfaceCounters>(INTERFACE_COUNTERS_SCHEMA);
    const packets: PacketSummary[] = [];
    const counters: InterfaceCounters[] = [];
    const consumer = kafka.consumer(`sflow-it-${Date.now()}`);
    await consumer.run([PACKETS, INTERFACE_COUNTERS_TOPIC], async (batch) => {
      for (const m of batch.messages) {
        if (batch.topic === PACKETS) packets.push(...packetsInMessage(m.value!).filter((p) => p.observation_point.startsWith('sflow:')));
        else counters.push(cc.decode(m.value!));
      }
    });
    const ok = await waitFor(() => packets.length >= 1 && counters.length >= nCounters, 30_000);
    await consumer.close();
    assert.ok(ok, `consumed ${packets.length} packets, ${counters.length}/${nCounters} counters`);
    assert.equal(packets[0].sampling_rate, 2048);
    assert.equal(packets[0].src_ip, '172.21.32.254');
    // records of one agent/interface share a key, so per-key order survives partitioning
    counters.sort((a, b) => (BigInt(a.ts_ns) === BigInt(b.ts_ns) ? 0 : BigInt(a.ts_ns) < BigInt(b.ts_ns) ? -1 : 1));
    const expected = tsharkCounters(NDPI);
    const hp = tsharkCounters(HP);
    for (const k of Object.keys(expected.generic)) expected.generic[k].push(...hp.generic[k]);
    const ours = ourCounters(counters);
    assert.deepEqual([...ours.generic.in_octets].sort(), [...expected.generic.in_octets].sort());
    assert.equal(ours.generic.if_index.length, expected.generic.if_index.length);
  });
});

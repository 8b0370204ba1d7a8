import assert from 'node:assert/strict';
import { TopologyTestDriver } from '../../runtime/test-driver';
import { AvroCodec, schemaJson } from '../../../schemas';
import { emptyPacketSummary, type PacketSummary } from '../../../schemas/types';
import { PATH_LOSS_SCHEMA, PATH_LOSS_TOPIC, type PathLoss } from '../../../schemas/path-loss';
import { pathLossStage, FLOW_STORE, WINDOW_STORE, type PathLossConfig } from '.';

const MS = 1_000_000n;
const A = '10.0.1.11', B = '10.0.2.13';

/** A UDP datagram A:5000 -> B:6000 (or back with rev) seen at `op` at t ms. */
function udp(tMs: number, op: string, ipId: number | null, extra: Partial<PacketSummary> = {}, rev = false): PacketSummary {
  return { ...emptyPacketSummary(), ts_ns: BigInt(Math.round(tMs * 1000)) * 1000n, observation_point: op, ip_version: 4,
    src_ip: rev ? B : A, dst_ip: rev ? A : B, src_port: rev ? 6000 : 5000, dst_port: rev ? 5000 : 6000, ip_proto: 17,
    ip_id: ipId, l4_payload_len: 1000, wire_len: 1042, cap_len: 1042, ip_ttl: op === 'h1' ? 64 : 63,
    src_mac: op === 'h1' ? '02:00:00:00:00:01' : '02:00:00:00:01:02', ...extra };
}

/** Pipes packets in event-time order (as interleaved sensors would deliver them), `batch` per message, then ends. */
function run(packets: PacketSummary[], cfg: Partial<PathLossConfig> = {}, opts: { batch?: number; sort?: boolean; end?: boolean } = {}) {
  const d = new TopologyTestDriver(pathLossStage({ windowMs: 10_000, horizonMs: 100, ...cfg }));
  const list = opts.sort === false ? packets : [...packets].sort((x, y) => (BigInt(x.ts_ns) < BigInt(y.ts_ns) ? -1 : BigInt(x.ts_ns) > BigInt(y.ts_ns) ? 1 : 0));
  const batch = opts.batch ?? 16;
  for (let i = 0; i < list.length; i += batch) d.pipeMessage('k', list.slice(i, i + batch));
  if (opts.end !== false) d.endOfStream();
  return { d, out: d.readOutput<PathLoss>(PATH_LOSS_TOPIC).map((o) => o.value) };
}

const dir = (out: PathLoss[], src: string) => out.filter((r) => r.src_ip === src);
const num = (r: PathLoss, ...f: (keyof PathLoss)[]) => f.map((k) => (r[k] === null ? null : Number(r[k])));

describe('pathloss stage (in-memory driver)', () => {
  it('counts exactly the packets dropped at known positions between the points, per direction, with the one-way delay', () => {
    const dropped = new Set([7, 42, 43, 99]);
    const pk: PacketSummary[] = [];
    for (let i = 0; i < 100; i++) {
      pk.push(udp(1000 + i, 'h1', i));
      if (!dropped.has(i)) pk.push(udp(1000 + i + 2, 'h2', i));
      if (i % 2 === 0) { pk.push(udp(1000 + i + 0.5, 'h2', 500 + i, {}, true)); pk.push(udp(1000 + i + 0.8, 'h1', 500 + i, {}, true)); }
    }
    const { d, out } = run(pk);
    assert.equal(out.length, 2);
    const [fwd] = dir(out, A), [back] = dir(out, B);
    assert.deepEqual([fwd.upstream_point, fwd.downstream_point, fwd.orientation], ['h1', 'h2', 'DELAY']);
    assert.deepEqual(num(fwd, 'seen_upstream', 'seen_downstream', 'matched', 'lost', 'extra', 'duplicates_upstream', 'duplicates_downstream', 'evicted'),
      [100, 96, 96, 4, 0, 0, 0, 0]);
    assert.deepEqual(num(fwd, 'delay_mean_ns', 'delay_min_ns', 'delay_max_ns'), [2e6, 2e6, 2e6]);
    assert.deepEqual([back.upstream_point, back.downstream_point], ['h2', 'h1']);
    assert.deepEqual(num(back, 'seen_upstream', 'matched', 'lost', 'extra'), [50, 50, 0, 0]);
    assert.equal(Math.round(back.delay_mean_ns!), 300_000);
    assert.equal(fwd.flow_key, '17|10.0.1.11|5000|10.0.2.13|6000');
    assert.deepEqual([fwd.src_port, fwd.dst_ip, fwd.dst_port, fwd.window_start_ns, fwd.window_end_ns], [5000, B, 6000, 0n, 10_000n * MS]);
    assert.equal(d.store(FLOW_STORE).size, 0);
    assert.equal(d.store(WINDOW_STORE).size, 0);
  });

  it('does not count copies of a packet at one point (mirror "both", SPAN duplicates) as packets or loss', () => {
    const pk: PacketSummary[] = [];
    for (let i = 0; i < 20; i++) {
      pk.push(udp(1000 + i, 'h1', i), udp(1000 + i + 0.004, 'h1', i)); // seen twice, 4 µs apart, at h1
      pk.push(udp(1000 + i + 1, 'h2', i));
      if (i === 5) pk.push(udp(1000 + i + 1.002, 'h2', i)); // and one twice downstream
    }
    // a flow within h1 only (mirror "both": every frame twice at h1, never at h2): no pair, no record
    for (let i = 0; i < 5; i++) pk.push(udp(1000 + i, 'h1', 900 + i, { dst_ip: '10.0.1.12' }), udp(1000 + i + 0.003, 'h1', 900 + i, { dst_ip: '10.0.1.12' }));
    const { out } = run(pk);
    assert.equal(out.length, 1);
    assert.deepEqual(num(out[0], 'seen_upstream', 'seen_downstream', 'matched', 'lost', 'extra', 'duplicates_upstream', 'duplicates_downstream'),
      [20, 20, 20, 0, 0, 20, 1]);
  });

  it('tells packets with the same fingerprint apart when they are further apart than the duplicate interval', () => {
    // no IP id (as IPv6 without fragmentation): every datagram of the flow has the same fingerprint
    const pk: PacketSummary[] = [];
    for (let i = 0; i < 10; i++) { pk.push(udp(1000 + 10 * i, 'h1', null)); if (i !== 3) pk.push(udp(1000 + 10 * i + 1, 'h2', null)); }
    const { out } = run(pk);
    assert.deepEqual(num(out[0], 'seen_upstream', 'seen_downstream', 'matched', 'lost', 'duplicates_upstream'), [10, 9, 9, 1, 0]);
  });

  it('ignores what routers change (TTL, MACs) but not TCP retransmissions: the original dropped, the retransmission matched', () => {
    const tcp = (t: number, op: string, ipId: number, extra: Partial<PacketSummary> = {}) =>
      udp(t, op, ipId, { ip_proto: 6, tcp_seq: 1000n, tcp_ack: 77n, tcp_flags: 0x18, tcp_ts_val: BigInt(ipId), tcp_ts_ecr: 5n, ...extra });
    const pk = [tcp(1000, 'h1', 1), tcp(1020, 'h1', 2), tcp(1021, 'h2', 2, { ip_ttl: 10, dst_mac: 'ff:ff:ff:ff:ff:ff', ip_tos: 3 })];
    const { out } = run(pk);
    assert.equal(out[0].ip_proto, 6);
    assert.deepEqual(num(out[0], 'seen_upstream', 'seen_downstream', 'matched', 'lost', 'extra'), [2, 1, 1, 1, 0]);
  });

  it('matches within the horizon only: a copy later than the horizon is one lost and one extra packet', () => {
    const pk: PacketSummary[] = [];
    for (let i = 0; i < 10; i++) pk.push(udp(1000 + i, 'h1', i), udp(1000 + i + 5, 'h2', i));
    pk.push(udp(1020, 'h1', 50), udp(1020 + 99, 'h2', 50)); // within 100 ms
    pk.push(udp(1030, 'h1', 51), udp(1030 + 150, 'h2', 51)); // too late
    const { out } = run(pk);
    assert.deepEqual(num(out[0], 'seen_upstream', 'seen_downstream', 'matched', 'lost', 'extra'), [12, 12, 11, 1, 1]);
    assert.equal(Number(out[0].delay_max_ns), 99e6);
  });

  it('does not depend on the order in which the sensors\' records arrive within the horizon', () => {
    const up: PacketSummary[] = [], down: PacketSummary[] = [];
    for (let i = 0; i < 30; i++) { up.push(udp(1000 + i, 'h1', i)); if (i % 10 !== 4) down.push(udp(1000 + i + 1, 'h2', i)); }
    // the downstream sensor's batch first, then the upstream one's (stream time stays within the horizon)
    const { out } = run([...down, ...up], { horizonMs: 200 }, { sort: false, batch: 100 });
    assert.deepEqual([out[0].upstream_point, out[0].orientation], ['h1', 'DELAY']);
    assert.deepEqual(num(out[0], 'seen_upstream', 'matched', 'lost', 'extra', 'delay_mean_ns'), [30, 27, 3, 0, 1e6]);
  });

  it('counts a packet in the window of its first sighting and emits a window only after end + horizon; later packets are late', () => {
    const pk = [udp(9_999, 'h1', 1), udp(10_001, 'h2', 1), udp(10_005, 'h1', 2), udp(10_006, 'h2', 2)];
    const { d } = run(pk, {}, { end: false });
    d.pipeInput('k', udp(10_099, 'h1', 3)); // stream time 10.099 s < 10 s + 100 ms
    assert.equal(d.readOutput(PATH_LOSS_TOPIC).length, 0, 'window [0,10) is still waiting for copies');
    d.pipeInput('k', udp(10_100, 'h1', 4));
    const first = d.readOutput<PathLoss>(PATH_LOSS_TOPIC).map((o) => o.value);
    assert.equal(first.length, 1);
    assert.deepEqual([Number(BigInt(first[0].window_start_ns) / MS), ...num(first[0], 'matched', 'lost', 'delay_mean_ns')], [0, 1, 0, 2e6]);
    d.pipeInput('k', udp(9_990, 'h2', 9)); // its window was emitted: late, not counted
    assert.equal(d.metrics.droppedByReason.get('late'), 1);
    d.pipeInput('k', udp(10_101, 'h2', 3)); // 3: matched (2 ms), 4: lost at end
    d.endOfStream();
    const second = d.readOutput<PathLoss>(PATH_LOSS_TOPIC).map((o) => o.value);
    assert.deepEqual(second.map((r) => [Number(BigInt(r.window_start_ns) / MS), ...num(r, 'seen_upstream', 'matched', 'lost', 'extra')]), [[10_000, 3, 2, 1, 0]]);
  });

  it('keeps its pending set bounded: the oldest unmatched packets are decided early and counted as evicted', () => {
    const pk: PacketSummary[] = [];
    for (let i = 0; i < 30; i++) pk.push(udp(1000 + i, 'h1', i), udp(1000 + i + 0.5, 'h2', 1000 + i)); // nothing matches
    const { d, out } = run(pk, { maxPendingPerFlow: 10 });
    const [r] = out;
    assert.equal(Number(r.evicted), 50);
    assert.deepEqual(num(r, 'seen_upstream', 'seen_downstream', 'matched', 'lost', 'extra'), [30, 30, 0, 30, 30]);
    assert.equal(d.metrics.droppedByReason.get('pending-full'), 50);
    assert.equal(d.store(FLOW_STORE).size, 0);
  });

  it('orients a pair by configuration, by the previous window, or by who saw more when nothing matched', () => {
    const pk: PacketSummary[] = [];
    for (let i = 0; i < 5; i++) pk.push(udp(1000 + i, 'h1', i), udp(1000 + i + 1, 'h2', i));
    for (let i = 0; i < 4; i++) pk.push(udp(11_000 + i, 'h1', 10 + i)); // window 2: all lost
    pk.push(udp(11_000, 'h2', 99, {}, true)); // reverse direction seen at h2 only
    const { out } = run(pk);
    const w2 = out.filter((r) => r.window_start_ns === 10_000n * MS);
    assert.deepEqual(dir(w2, A).map((r) => [r.upstream_point, r.orientation, ...num(r, 'seen_upstream', 'lost', 'delay_mean_ns')]), [['h1', 'PREVIOUS', 4, 4, null]]);
    assert.deepEqual(dir(w2, B).map((r) => [r.upstream_point, r.orientation, ...num(r, 'lost')]), [['h2', 'MAJORITY', 1]]);
    // configured: 10.0.2.0/24 sends past h2 first (here against the timing, to see it applied)
    const c = run(pk.slice(0, 10), { senderPoints: { '10.0.1.0/24': 'h2' } }).out;
    assert.deepEqual([c[0].upstream_point, c[0].orientation, Number(c[0].delay_mean_ns), Number(c[0].lost), Number(c[0].matched)], ['h2', 'CONFIGURED', -1e6, 0, 5]);
  });

  it('with configured points, a flow the downstream point never saw is all lost', () => {
    const pk = [0, 1, 2].map((i) => udp(1000 + i, 'h1', i));
    assert.equal(run(pk).out.length, 0, 'one point only: no pair');
    const { out } = run(pk, { points: ['h1', 'h2'] });
    assert.deepEqual([out[0].upstream_point, out[0].downstream_point, out[0].orientation, ...num(out[0], 'seen_upstream', 'seen_downstream', 'lost')],
      ['h1', 'h2', 'MAJORITY', 3, 0, 3]);
  });

  it('the record round-trips through path-loss.v1 with the TS field names', () => {
    const { out } = run([udp(1000, 'h1', 1), udp(1001, 'h2', 1)]);
    assert.deepEqual(Object.keys(out[0]), (schemaJson(PATH_LOSS_SCHEMA) as { fields: { name: string }[] }).fields.map((f) => f.name));
    const codec = new AvroCodec<PathLoss>(PATH_LOSS_SCHEMA);
    assert.deepEqual(codec.decode(codec.encode(out[0])), out[0]);
  });
});

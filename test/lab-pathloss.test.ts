/**
 * @lab: the pathloss stage against ground truth. A tbf bottleneck on h1's router link
 * (`scripts/lab/bottleneck.sh add h1 20mbit 16kb 30kb` = tbf root qdisc on tl-rt-h1, what
 * leaves h1 for the router) drops frames on the path h1 -> h2 BETWEEN the two monitor ports:
 * vm1's frames are mirrored on vm1's port (tl-mon-h1) before the drop and on vm3's port
 * (tl-mon-h2) after it. Mirror mode "both" does not mirror the uplink, so each such frame is
 * seen once at each point, and the router in between decrements the TTL and rewrites the MACs.
 *
 * Root only; brings the lab up and down itself. No Kafka: both monitor ports are recorded with
 * `tcpdump -w` (kernel timestamps of one clock), decoded (decodeFrame, observation points
 * lab:h1 / lab:h2), merged by time as the two sensors' batches would interleave in the
 * partition, and run through the pathloss stage on the in-memory TopologyTestDriver.
 * Load, one after the other: UDP iperf3 vm1 -> vm3 at 40 Mbit/s (twice the tbf rate) and a TCP
 * transfer vm1 -> vm3 (-b 0). Checked: the stage's lost count for vm1 -> vm3 (every flow of
 * the pair, iperf3's control connection included, h1 upstream) = the tbf `dropped` increase
 * exactly; for UDP, iperf3's lost datagrams = that minus the drops after the last datagram
 * iperf3 read (no sequence gap follows them: udpDropsAfter); vm3 -> vm1 (the ACKs, not through the tbf) loses nothing; nothing extra.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { capturePackets } from '../pipelines/stages/metrics/reference';
import { TopologyTestDriver } from '../pipelines/runtime/test-driver';
import { pathLossStage } from '../pipelines/stages/pathloss';
import { PATH_LOSS_TOPIC, type PathLoss } from '../schemas/path-loss';
import type { PacketSummary } from '../schemas/types';
import { lab, labMissing, startTcpdump, stopped } from './support/lab';

const VM1 = '10.77.1.11', VM3 = '10.77.2.13';
const TBF = ['20mbit', '16kb', '30kb'];

function tbfDropped(target: string): number {
  const line = lab('bottleneck.sh', 'show', target).trim();
  const m = /qdisc=tbf sent=(\d+) dropped=(\d+)/.exec(line);
  assert.ok(m, `no tbf on ${target}: ${line}`);
  return Number(m[2]);
}

interface Iperf { retransmits: number; udpPackets: number; udpLost: number; mbps: number }
function iperfResult(json: string): Iperf {
  const j = JSON.parse(json) as { error?: string; end: { sum_sent?: { retransmits?: number }; sum_received?: { bits_per_second: number };
    sum?: { bits_per_second: number; packets: number; lost_packets: number } } };
  assert.ok(!j.error, `iperf3: ${j.error}`);
  const e = j.end;
  return { retransmits: e.sum_sent?.retransmits ?? 0, udpPackets: e.sum?.packets ?? 0, udpLost: e.sum?.lost_packets ?? 0,
    mbps: (e.sum_received ?? e.sum)!.bits_per_second / 1e6 };
}

/** Both points' packets in time order (stable), piped in sensor-sized batches. */
function runPathLoss(h1: PacketSummary[], h2: PacketSummary[]): PathLoss[] {
  const all = [...h1, ...h2].sort((x, y) => (BigInt(x.ts_ns) < BigInt(y.ts_ns) ? -1 : BigInt(x.ts_ns) > BigInt(y.ts_ns) ? 1 : 0));
  const d = new TopologyTestDriver(pathLossStage({ windowMs: 1_000, horizonMs: 500 }));
  for (let i = 0; i < all.length; i += 256) d.pipeMessage('k', all.slice(i, i + 256));
  d.endOfStream();
  return d.readOutput<PathLoss>(PATH_LOSS_TOPIC).map((o) => o.value);
}

/**
 * vm1's UDP datagrams dropped after the last `skip + 1`-th datagram (in sending order) that
 * reached h2. iperf3 counts a datagram lost from the gap it leaves in the sequence numbers it
 * READ: drops after the last datagram it read leave no gap and are never counted. That is at
 * least the drops after the last datagram that reached h2 (skip 0), and at most those after the
 * datagrams still queued when iperf3 stopped reading (the tbf queue: 30kb = ~20 datagrams).
 * Identified by IP id (unique per connected socket here).
 */
function udpDropsAfter(h1: PacketSummary[], h2: PacketSummary[], skip: number): number {
  const udp = (p: PacketSummary) => p.ip_proto === 17 && p.src_ip === VM1 && p.dst_ip === VM3;
  const arrived = new Set(h2.filter(udp).map((p) => String(p.ip_id)));
  const sent = h1.filter(udp);
  let drops = 0, passed = 0;
  for (let i = sent.length - 1; i >= 0; i--) {
    if (!arrived.has(String(sent[i].ip_id))) drops++;
    else if (++passed > skip) break;
  }
  return drops;
}

interface DirTotals { records: number; ups: Set<string>; seenUp: number; seenDown: number; matched: number; lost: number; extra: number; dups: number; evicted: number;
  delaySum: number; delayMax: number; byFlow: Map<string, number> }
function totals(out: PathLoss[], src: string, dst: string): DirTotals {
  const t: DirTotals = { records: 0, ups: new Set(), seenUp: 0, seenDown: 0, matched: 0, lost: 0, extra: 0, dups: 0, evicted: 0, delaySum: 0, delayMax: 0, byFlow: new Map() };
  for (const r of out) {
    if (r.src_ip !== src || r.dst_ip !== dst) continue;
    t.records++;
    t.ups.add(`${r.upstream_point}->${r.downstream_point}`);
    t.seenUp += Number(r.seen_upstream); t.seenDown += Number(r.seen_downstream); t.matched += Number(r.matched);
    t.lost += Number(r.lost); t.extra += Number(r.extra); t.dups += Number(r.duplicates_upstream) + Number(r.duplicates_downstream);
    t.evicted += Number(r.evicted);
    if (r.delay_mean_ns !== null) { t.delaySum += r.delay_mean_ns * Number(r.matched); t.delayMax = Math.max(t.delayMax, Number(r.delay_max_ns)); }
    const f = `${r.ip_proto === 6 ? 'tcp' : r.ip_proto === 17 ? 'udp' : r.ip_proto} ${r.src_port}->${r.dst_port}`;
    t.byFlow.set(f, (t.byFlow.get(f) ?? 0) + Number(r.lost));
  }
  return t;
}
const fmt = (t: DirTotals) => `paths ${[...t.ups].join(',')} seen_up=${t.seenUp} seen_down=${t.seenDown} matched=${t.matched} lost=${t.lost} ` +
  `(${[...t.byFlow].map(([f, n]) => `${f}: ${n}`).join(', ')}) extra=${t.extra} dups=${t.dups} evicted=${t.evicted} ` +
  `delay mean ${(t.delaySum / Math.max(1, t.matched) / 1e6).toFixed(3)} ms max ${(t.delayMax / 1e6).toFixed(3)} ms`;

describe('pathloss ground truth: tbf on h1\'s router link, tcpdump on both monitor ports @lab @integration', function () {
  this.timeout(90_000);
  let tmp = '';
  const children: ChildProcess[] = [];
  let labUp = false;

  before(function () {
    const why = labMissing(['tcpdump', 'iperf3']);
    if (why) throw new Error(`the lab cannot run here: ${why} (bash .ci/run installs what it needs)`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-lab-pathloss-'));
    lab('down.sh');
    lab('up.sh');
    labUp = true;
  });

  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    try {
      if (labUp) lab('down.sh');
    } finally {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  /** iperf3 -s -1 (one client, then it exits); resolves once it listens. */
  async function iperfServer(vm: string): Promise<ChildProcess> {
    const proc = spawn('ip', ['netns', 'exec', `tl-${vm}`, 'iperf3', '-s', '-1'], { stdio: 'ignore' });
    children.push(proc);
    for (let i = 0; i < 100; i++) {
      const ss = spawnSync('ip', ['netns', 'exec', `tl-${vm}`, 'ss', '-Hltn', 'sport = :5201'], { encoding: 'utf8' });
      if (ss.stdout.trim()) return proc;
      await sleep(50);
    }
    throw new Error(`iperf3 server on ${vm} did not start`);
  }
  async function iperf(...args: string[]): Promise<Iperf> {
    const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', 'tl-vm1', 'iperf3', '-c', VM3, '-J', ...args], { encoding: 'utf8', timeout: 60_000 });
    return iperfResult(stdout);
  }

  /** tbf on tl-rt-h1, both monitor ports recorded, one iperf3 run vm1 -> vm3; the stage over both captures. */
  async function scenario(tag: string, ...iperfArgs: string[]) {
    lab('bottleneck.sh', 'add', 'h1', ...TBF);
    const pcaps = { h1: path.join(tmp, `${tag}-h1.pcap`), h2: path.join(tmp, `${tag}-h2.pcap`) };
    const dumps = { h1: startTcpdump('tl-mon-h1', pcaps.h1, children), h2: startTcpdump('tl-mon-h2', pcaps.h2, children) };
    for (let i = 0; i < 100 && !(/listening on/.test(dumps.h1.err()) && /listening on/.test(dumps.h2.err())); i++) await sleep(50);
    assert.match(dumps.h1.err(), /listening on tl-mon-h1/);
    assert.match(dumps.h2.err(), /listening on tl-mon-h2/);
    const server = await iperfServer('vm3');
    const before = tbfDropped('h1');
    const ip = await iperf(...iperfArgs);
    // the one-off server must be gone before the next scenario's starts (else the next client
    // can reach this one while it shuts down and hang)
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      const t = setTimeout(() => server.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    }
    await sleep(300);
    const dropped = tbfDropped('h1') - before;
    await stopped(dumps.h1.proc);
    await stopped(dumps.h2.proc);
    lab('bottleneck.sh', 'del', 'h1');
    for (const [h, d] of Object.entries(dumps)) assert.match(d.err(), /^0 packets dropped by kernel$/m, `${h}: ${d.err()}`);
    const h1 = await capturePackets(pcaps.h1, 'lab:h1'), h2 = await capturePackets(pcaps.h2, 'lab:h2');
    const out = runPathLoss(h1, h2);
    const fwd = totals(out, VM1, VM3), back = totals(out, VM3, VM1);
    console.log(`      ${tag}: iperf3 vm1->vm3 ${iperfArgs.join(' ')}: ${ip.mbps.toFixed(1)} Mbit/s` +
      (ip.udpPackets ? `, sent ${ip.udpPackets} datagrams, iperf3 lost ${ip.udpLost}` : `, sender retransmits ${ip.retransmits}`) + `; tbf on tl-rt-h1 dropped ${dropped}`);
    console.log(`      ${tag}: pathloss vm1->vm3: ${fmt(fwd)}`);
    console.log(`      ${tag}: pathloss vm3->vm1: ${fmt(back)}`);
    // both directions oriented from the delays: vm1's frames pass h1 first, vm3's pass h2 first
    assert.deepEqual([...fwd.ups], ['lab:h1->lab:h2']);
    assert.deepEqual([...back.ups], ['lab:h2->lab:h1']);
    assert.equal(fwd.lost, dropped, `pathloss lost ${fwd.lost} vs tbf dropped ${dropped}`);
    for (const t of [fwd, back]) { assert.equal(t.extra, 0); assert.equal(t.evicted, 0); }
    // vm1's frames are seen once per point. vm3 -> vm1 may show a few "duplicates": the RSTs vm3
    // sends to data arriving after iperf3 closed (IP id 0, same seq: identical fingerprints,
    // ~0.6 ms apart at 20 Mbit/s, inside the 1 ms duplicate interval). They are merged the same
    // way at both points, so they change neither lost nor extra.
    assert.equal(fwd.dups, 0);
    assert.equal(back.lost, 0, 'vm3 -> vm1 does not pass the tbf');
    assert.ok(fwd.delayMax > 0 && fwd.delayMax < 200e6, `delay max ${fwd.delayMax}`);
    return { ip, dropped, fwd, back, tail: udpDropsAfter(h1, h2, 0), tailQueue: udpDropsAfter(h1, h2, 20) };
  }

  it('UDP at 40 Mbit/s (twice the tbf rate): lost vm1 -> vm3 = tbf dropped; iperf3 lost = that minus the drops at the very end', async () => {
    const { ip, dropped, fwd, tail, tailQueue } = await scenario('udp', '-u', '-b', '40M', '-t', '2');
    assert.ok(dropped >= 50, `tbf dropped only ${dropped}`);
    // iperf3 counts a datagram lost by the gap in the sequence numbers it read: the datagrams
    // dropped after the last one it read leave no gap (see udpDropsAfter)
    const udpLost = [...fwd.byFlow].filter(([f]) => f.startsWith('udp')).reduce((a, [, n]) => a + n, 0);
    const diff = udpLost - ip.udpLost;
    console.log(`      udp: pathloss UDP lost ${udpLost} = iperf3 lost ${ip.udpLost} + ${diff}; dropped after the last datagram that reached h2: ${tail}, ` +
      `after the last 21 that reached it: ${tailQueue}`);
    assert.ok(diff >= tail && diff <= tailQueue, `iperf3 lost ${ip.udpLost} vs pathloss UDP lost ${udpLost}: ${diff} not within [${tail}, ${tailQueue}]`);
  });

  it('TCP transfer (-b 0): lost vm1 -> vm3 = tbf dropped; the ACKs lose nothing', async () => {
    const { dropped, fwd } = await scenario('tcp', '-t', '3', '-b', '0');
    assert.ok(dropped >= 20, `tbf dropped only ${dropped}`);
    assert.ok(fwd.matched > 1000);
  });
});

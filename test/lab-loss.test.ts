/**
 * @lab: loss ground truth. A tbf bottleneck on one VM port drops packets under load; tapline's
 * loss for that pair must agree with tbf's own drop counter, and a pair without a bottleneck,
 * running at the same time, must show none.
 *
 * Root only; brings the lab up and down itself (scripts/lab/*.sh). No Kafka: the monitor ports
 * are recorded with `tcpdump -w` (kernel timestamps, deterministic), and each capture is run
 * through decodeFrame + the metrics stage on the in-memory TopologyTestDriver
 * (pipelines/stages/metrics/reference.ts), one observation point per monitor port.
 *
 * Setup (docs/lab.md, "Loss ground truth"):
 * - bottleneck: `scripts/lab/bottleneck.sh add vm1 20mbit 16kb 30kb` = tbf root qdisc on tl-vm1-p,
 *   i.e. on what the switch delivers to vm1. Load: iperf3 TCP vm3 -> vm1, unlimited (-b 0).
 *   The port's clsact egress mirror runs before the root qdisc's enqueue, and vm3's port
 *   (h2) mirrors the frames even earlier: every frame tbf drops has passed both monitor ports,
 *   so each drop is "lost after the mirror" and comes back as one retransmission (SACK, no
 *   offloads). Compared: tapline's retransmitted_segments of vm3 -> vm1 (all flows of the
 *   pair) vs the tbf `dropped` counter (`tc -s qdisc`), at both observation points, within 10%;
 *   lost_before_mirror of that pair must be 0 (nothing is dropped upstream of a mirror).
 *   Run twice: limit 30kb (drops in slow start) and 6kb (4 frames: drops all along).
 * - control: iperf3 TCP vm4 -> vm2 at a fixed 20 Mbit/s, same time, same router, no bottleneck.
 *   Both iperf3 ends are pinned to one CPU (taskset) so the virtual switch cannot reorder its
 *   frames (see docs/lab.md: unpinned, a burst can overtake another one queued on the other
 *   CPU's backlog by ~0.1 ms, more than the lab's handshake RTT). Must show ~0: retransmitted
 *   + lost before mirror <= 2 segments and < 0.5% of its data segments.
 * - uplink (second test): the tbf on tl-rt-h1, h1's leg to the router, which mirror mode "both"
 *   does not mirror; iperf3 vm1 -> vm3. h1 sees vm1's frames on vm1's port, before the drop:
 *   retransmissions = drops (±10%). h2 sees them on vm3's port, after it: the data segments h2
 *   misses against h1 = drops (±10%), and lost_before_mirror > 0 but only a lower bound (a lost
 *   tail is resent in order and looks like new data downstream; see docs/lab.md). No control
 *   pair there: every pair between the hosts sends data or ACKs through that uplink.
 * iperf3's own sender retransmission counts (TCP_INFO) are printed next to them.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { capturePackets, perFlow, runMetrics, type FlowTotals } from '../pipelines/stages/metrics/reference';
import type { FlowMetrics } from '../schemas/flow-metrics';
import { lab, labMissing, startTcpdump, stopped } from './support/lab';

const VM_IP: Record<string, string> = { vm1: '10.77.1.11', vm2: '10.77.1.12', vm3: '10.77.2.13', vm4: '10.77.2.14' };
const SECONDS = 4;
const TBF = ['20mbit', '16kb', '30kb'];


interface TbfStats { sent: number; dropped: number; overlimits: number }
/** `bottleneck.sh show <vm>` parses `tc -s qdisc show dev tl-<vm>-p root`. */
function tbfStats(vm: string): TbfStats {
  const line = lab('bottleneck.sh', 'show', vm).trim();
  const m = /qdisc=tbf sent=(\d+) dropped=(\d+) overlimits=(\d+)/.exec(line);
  assert.ok(m, `no tbf on ${vm}: ${line}`);
  return { sent: Number(m[1]), dropped: Number(m[2]), overlimits: Number(m[3]) };
}

/** Loss indicators of what `from` sent to `to`, summed over every TCP flow between them. */
interface PairLoss { flows: number; dataSegments: number; retransmitted: number; lostBefore: number; outOfOrder: number; ackedUnseen: number }
function pairLoss(flows: Map<string, FlowTotals>, from: string, to: string): PairLoss {
  const r: PairLoss = { flows: 0, dataSegments: 0, retransmitted: 0, lostBefore: 0, outOfOrder: 0, ackedUnseen: 0 };
  for (const f of flows.values()) {
    if (!f.key.startsWith('6|')) continue;
    let t;
    if (f.a === from && f.b === to) t = f.tcpAb;
    else if (f.a === to && f.b === from) t = f.tcpBa;
    else continue;
    r.flows++;
    r.dataSegments += t.data_segments ?? 0;
    r.retransmitted += t.retransmitted_segments ?? 0;
    r.lostBefore += t.lost_before_mirror_segments ?? 0;
    r.outOfOrder += t.out_of_order_segments ?? 0;
    r.ackedUnseen += t.acked_unseen_gaps ?? 0;
  }
  return r;
}

interface Iperf { bytes: number; retransmits: number; mbps: number; udpPackets: number; udpLost: number }
function iperfResult(json: string): Iperf {
  const j = JSON.parse(json) as { error?: string; end: { sum_sent?: { bytes: number; retransmits?: number }; sum_received?: { bits_per_second: number };
    sum?: { bytes: number; bits_per_second: number; packets: number; lost_packets: number } } };
  assert.ok(!j.error, `iperf3: ${j.error}`);
  const e = j.end;
  // TCP: sender retransmissions (TCP_INFO); UDP: datagrams sent and lost (the receiver's report)
  return { bytes: e.sum_sent?.bytes ?? 0, retransmits: e.sum_sent?.retransmits ?? 0, mbps: (e.sum_received ?? e.sum)!.bits_per_second / 1e6,
    udpPackets: e.sum?.packets ?? 0, udpLost: e.sum?.lost_packets ?? 0 };
}

/** Packets `from` sent to `to` in UDP flows, summed over the windows of every flow. */
function udpPackets(records: FlowMetrics[], from: string, to: string): number {
  let n = 0;
  for (const r of records) {
    if (r.ip_proto !== 17) continue;
    if (r.addr_a === from && r.addr_b === to) n += Number(r.packets_ab);
    else if (r.addr_a === to && r.addr_b === from) n += Number(r.packets_ba);
  }
  return n;
}

describe('loss ground truth: tbf bottleneck on a VM port vs tapline loss, tcpdump on both monitor ports @lab @integration', function () {
  this.timeout(120_000);
  let tmp = '';
  const children: ChildProcess[] = [];
  let labUp = false;

  before(function () {
    const why = labMissing(['tcpdump', 'iperf3', 'taskset']);
    if (why) throw new Error(`the lab cannot run here: ${why} (bash .ci/run installs what it needs)`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-lab-loss-'));
    lab('down.sh');
    lab('up.sh');
    labUp = true;
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    try {
      if (labUp) lab('down.sh'); // removes the bottleneck's qdisc with its port
    } finally {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  /** iperf3 -s -1 in a VM's namespace, optionally pinned to CPUs; resolves once it listens. */
  async function iperfServer(vm: string, cpus: string | null): Promise<ChildProcess> {
    const cmd = ['ip', 'netns', 'exec', `tl-${vm}`, ...(cpus ? ['taskset', '-c', cpus] : []), 'iperf3', '-s', '-1'];
    const proc = spawn(cmd[0], cmd.slice(1), { stdio: 'ignore' });
    children.push(proc);
    for (let i = 0; i < 100; i++) {
      const ss = spawnSync('ip', ['netns', 'exec', `tl-${vm}`, 'ss', '-Hltn', 'sport = :5201'], { encoding: 'utf8' });
      if (ss.stdout.trim()) return proc;
      await sleep(50);
    }
    throw new Error(`iperf3 server on ${vm} did not start`);
  }
  async function iperfClient(from: string, to: string, cpus: string | null, ...args: string[]): Promise<Iperf> {
    const cmd = ['ip', 'netns', 'exec', `tl-${from}`, ...(cpus ? ['taskset', '-c', cpus] : []), 'iperf3', '-c', VM_IP[to], '-t', String(SECONDS), '-J', ...args];
    const { stdout } = await promisify(execFile)(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 60_000 });
    return iperfResult(stdout);
  }

  interface Scenario {
    secs: number; tbf: TbfStats; bottle: Iperf; control: Iperf | null; controlCpu: string;
    at: Record<'h1' | 'h2', { bottle: PairLoss; control: PairLoss }>;
  }
  /**
   * tbf on `target`'s port, tcpdump on both monitor ports, iperf3 `from` -> `to` unlimited and
   * (withControl) the control pair vm4 -> vm2 at 20 Mbit/s pinned to one CPU, both for SECONDS;
   * each capture through the metrics stage.
   */
  async function scenario(tag: string, target: string, from: string, to: string, withControl: boolean, tbfArgs = TBF): Promise<Scenario> {
    lab('bottleneck.sh', 'add', target, ...tbfArgs);
    const pcaps = { h1: path.join(tmp, `${tag}-h1.pcap`), h2: path.join(tmp, `${tag}-h2.pcap`) };
    const dumps = { h1: startTcpdump('tl-mon-h1', pcaps.h1, children), h2: startTcpdump('tl-mon-h2', pcaps.h2, children) };
    for (let i = 0; i < 100 && !(/listening on/.test(dumps.h1.err()) && /listening on/.test(dumps.h2.err())); i++) await sleep(50);
    assert.match(dumps.h1.err(), /listening on tl-mon-h1/);
    assert.match(dumps.h2.err(), /listening on tl-mon-h2/);

    const controlCpu = String(os.cpus().length - 1);
    await iperfServer(to, null);
    if (withControl) await iperfServer('vm2', controlCpu);
    const before = tbfStats(target);
    const t0 = Date.now();
    const [bottle, control] = await Promise.all([
      iperfClient(from, to, null, '-b', '0'),
      withControl ? iperfClient('vm4', 'vm2', controlCpu, '-b', '20M') : Promise.resolve(null),
    ]);
    const after = tbfStats(target);
    const secs = (Date.now() - t0) / 1000;
    await sleep(300);
    await stopped(dumps.h1.proc);
    await stopped(dumps.h2.proc);
    lab('bottleneck.sh', 'del', target);
    // The captures are complete (a frame the capture lost would look like loss before the mirror).
    for (const [h, d] of Object.entries(dumps)) assert.match(d.err(), /^0 packets dropped by kernel$/m, `${h}: ${d.err()}`);

    const at = {} as Scenario['at'];
    for (const h of ['h1', 'h2'] as const) {
      const flows = perFlow(runMetrics(await capturePackets(pcaps[h], `lab:${h}`)));
      at[h] = { bottle: pairLoss(flows, VM_IP[from], VM_IP[to]), control: pairLoss(flows, VM_IP.vm4, VM_IP.vm2) };
    }
    const tbf = { sent: after.sent - before.sent, dropped: after.dropped - before.dropped, overlimits: after.overlimits - before.overlimits };
    console.log(`      ${tag}: ${secs.toFixed(1)} s; tbf on ${target} (${tbfArgs.join(' ')}): sent=${tbf.sent} dropped=${tbf.dropped} overlimits=${tbf.overlimits}`);
    console.log(`      iperf3 ${from}->${to} -b 0:   ${bottle.mbps.toFixed(1)} Mbit/s, sender retransmits ${bottle.retransmits}`);
    if (control) console.log(`      iperf3 vm4->vm2 -b 20M: ${control.mbps.toFixed(1)} Mbit/s, sender retransmits ${control.retransmits} (pinned to CPU ${controlCpu})`);
    for (const h of ['h1', 'h2'] as const) {
      for (const [name, l] of Object.entries(at[h])) {
        if (name === 'control' && !control) continue;
        console.log(`      lab:${h} ${name === 'bottle' ? `${from}->${to} (tbf)` : 'vm4->vm2      '}  flows=${l.flows} data=${l.dataSegments} ` +
          `retransmitted=${l.retransmitted} lost_before_mirror=${l.lostBefore} out_of_order=${l.outOfOrder} acked_unseen=${l.ackedUnseen}`);
      }
    }
    return { secs, tbf, bottle, control, controlCpu, at };
  }

  /** The pair without a bottleneck, at both observation points: ~0. */
  function checkControl(s: Scenario): void {
    for (const h of ['h1', 'h2'] as const) {
      const c = s.at[h].control;
      assert.ok(c.dataSegments > 1000, `lab:${h}: vm4->vm2 carried data`);
      assert.equal(c.ackedUnseen, 0, `lab:${h}: capture lost frames of vm4->vm2`);
      const cl = c.retransmitted + c.lostBefore;
      assert.ok(cl <= 2 && cl < 0.005 * c.dataSegments, `lab:${h}: vm4->vm2 (no bottleneck) shows loss: retransmitted ${c.retransmitted}, lost before ${c.lostBefore}`);
    }
  }
  const within10 = (x: number, ref: number) => Math.abs(x - ref) <= 0.1 * ref;

  function checkPort(s: Scenario): void {
    const dropped = s.tbf.dropped;
    assert.ok(dropped >= 50, `tbf dropped only ${dropped}`);
    for (const h of ['h1', 'h2'] as const) {
      const b = s.at[h].bottle;
      assert.ok(b.flows >= 2, `lab:${h}: iperf3 control + data connections of vm3->vm1`);
      assert.equal(b.ackedUnseen, 0, `lab:${h}: capture lost frames of vm3->vm1`);
      // every tbf drop is after both mirror points: a retransmission each, nothing missing at a mirror
      assert.ok(within10(b.retransmitted, dropped), `lab:${h}: tapline retransmitted ${b.retransmitted} vs tbf dropped ${dropped} (> 10%)`);
      assert.equal(b.lostBefore, 0, `lab:${h}: vm3->vm1 lost before the mirror`);
    }
    checkControl(s);
  }

  it('tbf on vm1\'s port (after every mirror): retransmissions at both monitor ports = tbf drops (±10%); the pair without a bottleneck ~0', async () => {
    checkPort(await scenario('port', 'vm1', 'vm3', 'vm1', true));
  });

  it('the same with a 4-frame queue (limit 6kb): losses all along the transfer, not only in slow start', async () => {
    checkPort(await scenario('port-sustained', 'vm1', 'vm3', 'vm1', true, [TBF[0], TBF[1], '6kb']));
  });

  it('tbf on h1\'s uplink (between the mirrors): h1 sees the drops as retransmissions, h2 misses exactly those segments', async () => {
    // No control pair here: any pair between the hosts sends data or ACKs through this uplink.
    const s = await scenario('uplink', 'h1', 'vm1', 'vm3', false);
    const dropped = s.tbf.dropped;
    assert.ok(dropped >= 50, `tbf dropped only ${dropped}`);
    const up = s.at.h1.bottle, down = s.at.h2.bottle;
    for (const b of [up, down]) assert.equal(b.ackedUnseen, 0, 'capture lost frames of vm1->vm3');
    // upstream of the drop (vm1's port, h1): every drop comes back as a retransmission
    assert.ok(within10(up.retransmitted, dropped), `lab:h1: tapline retransmitted ${up.retransmitted} vs tbf dropped ${dropped} (> 10%)`);
    assert.equal(up.lostBefore, 0, 'lab:h1: vm1->vm3 lost before the mirror');
    // downstream (vm3's port, h2): the dropped segments never pass; the segments h2 misses
    // against h1 are the drops. Only the losses followed by data that did pass leave a gap to be
    // filled later (lost_before_mirror); a lost tail comes back in order and looks like new data.
    const missing = up.dataSegments - down.dataSegments;
    console.log(`      segments missing at lab:h2 against lab:h1: ${missing}; lab:h2 lost_before_mirror ${down.lostBefore} (gaps filled later: a lower bound)`);
    assert.ok(within10(missing, dropped), `lab:h1 - lab:h2 data segments ${missing} vs tbf dropped ${dropped} (> 10%)`);
    assert.ok(down.lostBefore > 0 && down.lostBefore <= dropped, `lab:h2 lost_before_mirror ${down.lostBefore}`);
    assert.ok(down.retransmitted <= 2, `lab:h2 retransmitted ${down.retransmitted}: nothing is dropped after h2's mirror`);
  });

  it('UDP at a fixed rate through h1\'s uplink: datagrams missing at h2 against h1 = tbf drops = iperf3\'s lost datagrams', async () => {
    lab('bottleneck.sh', 'add', 'h1', ...TBF);
    const pcaps = { h1: path.join(tmp, 'udp-h1.pcap'), h2: path.join(tmp, 'udp-h2.pcap') };
    const dumps = { h1: startTcpdump('tl-mon-h1', pcaps.h1, children), h2: startTcpdump('tl-mon-h2', pcaps.h2, children) };
    for (let i = 0; i < 100 && !(/listening on/.test(dumps.h1.err()) && /listening on/.test(dumps.h2.err())); i++) await sleep(50);
    await iperfServer('vm3', null);
    const before = tbfStats('h1');
    const udp = await iperfClient('vm1', 'vm3', null, '-u', '-b', '40M', '-t', '2'); // twice the tbf rate
    const dropped = tbfStats('h1').dropped - before.dropped;
    await sleep(300);
    await stopped(dumps.h1.proc);
    await stopped(dumps.h2.proc);
    lab('bottleneck.sh', 'del', 'h1');
    for (const [h, d] of Object.entries(dumps)) assert.match(d.err(), /^0 packets dropped by kernel$/m, `${h}: ${d.err()}`);
    const seen = { h1: 0, h2: 0 };
    for (const h of ['h1', 'h2'] as const) seen[h] = udpPackets(runMetrics(await capturePackets(pcaps[h], `lab:${h}`)), VM_IP.vm1, VM_IP.vm3);
    const missing = seen.h1 - seen.h2;
    console.log(`      udp: iperf3 vm1->vm3 -u -b 40M: sent ${udp.udpPackets} datagrams, lost ${udp.udpLost} (${udp.mbps.toFixed(1)} Mbit/s received); ` +
      `tbf dropped ${dropped}; tapline packets lab:h1 ${seen.h1}, lab:h2 ${seen.h2}, missing at h2 ${missing}`);
    assert.ok(dropped >= 50, `tbf dropped only ${dropped}`);
    assert.ok(Math.abs(seen.h1 - udp.udpPackets) <= 0.1 * udp.udpPackets, `lab:h1 saw ${seen.h1} of ${udp.udpPackets} datagrams sent`);
    assert.ok(within10(missing, dropped), `tapline: missing at h2 ${missing} vs tbf dropped ${dropped} (> 10%)`);
    assert.ok(within10(udp.udpLost, dropped), `iperf3 lost ${udp.udpLost} vs tbf dropped ${dropped} (> 10%)`);
  });
});

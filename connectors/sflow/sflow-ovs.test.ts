/**
 * A real sFlow generator: a private Open vSwitch (its own ovsdb-server and ovs-vswitchd in a
 * temp dir, userspace "netdev" datapath, so no kernel module) switching between two network
 * namespaces, exporting sFlow (sampling 1 in 1, counter polling every second) to the collector.
 * Ground truth is tcpdump in the receiving namespace. Needs root and openvswitch-switch
 * (apt-get install openvswitch-switch); skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { InterfaceCounters } from '../../schemas/interface-counters';
import type { PacketSummary } from '../../schemas/types';
import { waitFor } from '../udp/udp-replay';
import { SflowConnector } from './sflow';
import { SflowConfigSchema } from './config';

const N = 60;

describe('sflow collector fed by Open vSwitch @ovs', function () {
  this.timeout(90_000);
  const id = `${process.pid % 10000}`;
  const nsA = `tlsfa${id}`; const nsB = `tlsfb${id}`; const br = `tlsfbr${id}`;
  const portA = `tlsfa${id}p`; const portB = `tlsfb${id}p`;
  const ipA = '10.253.91.1'; const ipB = '10.253.91.2';
  let dir = '';
  const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const vsctl = (...a: string[]) => sh('ovs-vsctl', [`--db=unix:${dir}/db.sock`, ...a]);
  const can = process.getuid?.() === 0 && spawnSync('ovs-vswitchd', ['--version']).status === 0 && spawnSync('tcpdump', ['--version']).status === 0;

  before(async function () {
    if (!can) throw new Error('needs root, openvswitch-switch and tcpdump (bash .ci/run installs them)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-ovs-'));
    const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir };
    const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { env, stdio: 'ignore' });
    run('ovsdb-tool', ['create', `${dir}/conf.db`, '/usr/share/openvswitch/vswitch.ovsschema']);
    run('ovsdb-server', [`${dir}/conf.db`, `--remote=punix:${dir}/db.sock`, `--pidfile=${dir}/ovsdb.pid`, `--unixctl=${dir}/ovsdb.ctl`, '--detach', `--log-file=${dir}/ovsdb.log`]);
    vsctl('--no-wait', 'init');
    run('ovs-vswitchd', [`unix:${dir}/db.sock`, `--pidfile=${dir}/vswitchd.pid`, `--unixctl=${dir}/vswitchd.ctl`, '--detach', `--log-file=${dir}/vswitchd.log`]);
    vsctl('add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev');
    for (const [ns, port, ip] of [[nsA, portA, ipA], [nsB, portB, ipB]]) {
      sh('ip', ['netns', 'add', ns]);
      sh('ip', ['link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh('sysctl', ['-qw', `net.ipv6.conf.${port}.disable_ipv6=1`]);
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
      sh('ip', ['link', 'set', port, 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      vsctl('add-port', br, port);
    }
  });

  after(() => {
    if (!dir) return;
    spawnSync('ovs-vsctl', [`--db=unix:${dir}/db.sock`, '--if-exists', 'del-br', br]);
    spawnSync('ovs-appctl', ['-t', `${dir}/vswitchd.ctl`, 'exit']);
    spawnSync('ovs-appctl', ['-t', `${dir}/ovsdb.ctl`, 'exit']);
    for (const ns of [nsA, nsB]) spawnSync('ip', ['netns', 'del', ns]);
    for (const l of [br, portA, portB]) spawnSync('ip', ['link', 'del', l], { stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every sampled UDP datagram arrives as a PacketSummary matching tcpdump (5-tuple, IP id, rate 1); port counters arrive', async () => {
    const packets: PacketSummary[] = [];
    const counters: InterfaceCounters[] = [];
    const c = new SflowConnector(SflowConfigSchema.parse({ host: '127.0.0.1', port: 0 }), null, {
      packets: { add: (p) => { packets.push(p); return null; }, flush: async () => undefined },
      counters: { add: (r) => { counters.push(r); return null; }, flush: async () => undefined },
    });
    await c.start();
    const pcap = path.join(dir, 'b.pcap');
    const dump = spawn('ip', ['netns', 'exec', nsB, 'tcpdump', '-i', 'eth0', '--immediate-mode', '-U', '-n', '-w', pcap, 'udp', 'port', '9999'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let dumpErr = '';
    dump.stderr!.on('data', (d: Buffer) => { dumpErr += d.toString(); });
    assert.ok(await waitFor(() => dumpErr.includes('listening on'), 10_000), dumpErr);
    try {
      vsctl('--', '--id=@s', 'create', 'sflow', 'agent=lo', `target="127.0.0.1:${c.port}"`, 'header=128', 'sampling=1', 'polling=1', '--', 'set', 'bridge', br, 'sflow=@s');
      await new Promise((r) => setTimeout(r, 1500));
      sh('ip', ['netns', 'exec', nsA, 'python3', '-c',
        `import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('${ipA}',40000))\nfor i in range(${N}):\n  s.sendto(bytes(100+i),('${ipB}',9999))\n  time.sleep(0.01)`]);
      const datagramsAfterTraffic = c.stats.datagrams;
      // counters are polled every second: wait for two more polls after the traffic
      assert.ok(await waitFor(() => c.stats.datagrams > datagramsAfterTraffic + 2 && packets.filter((p) => p.dst_port === 9999).length >= N, 10_000));
      await new Promise((r) => setTimeout(r, 2500));
    } finally {
      dump.kill('SIGINT');
      await new Promise((r) => dump.once('exit', r));
      await c.close();
    }
    const truth = sh('tshark', ['-r', pcap, '-T', 'fields', '-E', 'separator=,', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'ip.id', '-e', 'frame.len'])
      .trim().split('\n').map((l) => l.split(','));
    const ours = packets.filter((p) => p.dst_port === 9999);
    // eslint-disable-next-line no-console
    console.log(`      ovs: ${c.stats.datagrams} sFlow datagrams, ${c.stats.flowSamples} flow samples, ${c.stats.counterSamples} counter samples; ` +
      `${ours.length} sampled UDP/9999 packets vs ${truth.length} captured by tcpdump; wire_len ${ours[0]?.wire_len} vs frame.len ${truth[0]?.[5]}`);
    assert.equal(truth.length, N);
    assert.equal(ours.length, N);
    assert.deepEqual(ours.map((p) => [p.src_ip, String(p.src_port), p.dst_ip, String(p.dst_port), `0x${Number(p.ip_id).toString(16).padStart(4, '0')}`]),
      truth.map((t) => t.slice(0, 5)));
    for (let i = 0; i < N; i++) {
      assert.equal(ours[i].sampling_rate, 1);
      assert.equal(ours[i].l4_payload_len, 100 + i);
      // sFlow frame_length counts the 4-byte FCS that the capture does not have
      assert.equal(ours[i].wire_len, Number(truth[i][5]) + 4);
      assert.ok(ours[i].observation_point.startsWith('sflow:127.0.0.1/'));
    }
    assert.equal(c.stats.malformed.size, 0);
    assert.equal(c.sequences.counts.lost, 0);
    // interface counters of the two switch ports, cumulative and consistent with the traffic
    const ifA = Number(fs.readFileSync(`/sys/class/net/${portA}/ifindex`, 'utf8'));
    const ifB = Number(fs.readFileSync(`/sys/class/net/${portB}/ifindex`, 'utf8'));
    const lastOf = (ifIndex: number) => counters.filter((r) => Number(r.generic?.if_index) === ifIndex).pop();
    const a = lastOf(ifA); const b = lastOf(ifB);
    assert.ok(a && b, `counter samples for ifIndex ${ifA} and ${ifB} (got ${[...new Set(counters.map((r) => r.generic?.if_index))].join(',')})`);
    const pkts = (g: NonNullable<InterfaceCounters['generic']>, dir2: 'in' | 'out') =>
      Number(g[`${dir2}_ucast_pkts`] ?? 0) + Number(g[`${dir2}_multicast_pkts`] ?? 0) + Number(g[`${dir2}_broadcast_pkts`] ?? 0);
    const kernel = (port: string, stat: string) => Number(fs.readFileSync(`/sys/class/net/${port}/statistics/${stat}`, 'utf8'));
    // eslint-disable-next-line no-console
    console.log(`      ovs counters: port A in ${pkts(a.generic!, 'in')} pkts/${a.generic!.in_octets} B, port B out ${pkts(b.generic!, 'out')} pkts/${b.generic!.out_octets} B; ` +
      `kernel: A rx ${fs.readFileSync(`/sys/class/net/${portA}/statistics/rx_packets`, 'utf8').trim()}, B tx ${fs.readFileSync(`/sys/class/net/${portB}/statistics/tx_packets`, 'utf8').trim()}`);
    // OVS reports what the kernel counts for the port (the traffic has stopped, the last poll is after it)
    assert.equal(pkts(a.generic!, 'in'), kernel(portA, 'rx_packets'));
    assert.equal(Number(a.generic!.in_octets), kernel(portA, 'rx_bytes'));
    assert.equal(pkts(b.generic!, 'out'), kernel(portB, 'tx_packets'));
    assert.equal(Number(b.generic!.out_octets), kernel(portB, 'tx_bytes'));
    assert.ok(pkts(a.generic!, 'in') >= N);
    // OVS does not know a veth's broadcast count and unknown protocols: sent as all ones, published as null
    assert.equal(a.generic!.in_broadcast_pkts, null);
    assert.equal(a.generic!.in_unknown_protos, null);
    assert.equal(a.generic!.in_multicast_pkts, 0);
    assert.equal(a.agent, '127.0.0.1');
  });
});

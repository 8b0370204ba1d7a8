/**
 * Real traffic mirroring: the Linux kernel mirrors a veth port (tc u32 + mirred, both
 * directions) into a VXLAN device whose remote is the mirror receiver, which is what a cloud
 * mirror session does. Namespace A talks to B; tcpdump on A's port is the ground truth.
 * Needs root, VXLAN and the u32/mirred tc modules; skipped otherwise. (The GENEVE device type
 * is not available in this kernel, so GENEVE is proven by the corpus replay only.)
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PacketSummary } from '../../schemas/types';
import { MirrorConnector, type PacketSink } from './mirror';
import { MirrorConfigSchema } from './config';
import { waitFor } from '../udp/udp-replay';

const N = 40;

describe('mirror receiver fed by a kernel VXLAN mirror session @netns', function () {
  this.timeout(60_000);
  const id = `${process.pid % 10000}`;
  const nsA = `tlmA${id}`; const nsB = `tlmB${id}`; const uplink = `tlmu${id}`;
  const ipA = '10.254.61.1'; const ipB = '10.254.61.2'; const upA = '10.254.62.1'; const upRoot = '10.254.62.2';
  const VNI = 4242;
  const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const inA = (...a: string[]) => sh('ip', ['netns', 'exec', nsA, ...a]);
  let dir = '';
  const can = process.getuid?.() === 0 && spawnSync('tcpdump', ['--version']).status === 0 && spawnSync('tc', ['-V']).status === 0;

  before(function () {
    if (!can) throw new Error('needs root, tcpdump and tc (bash .ci/run installs them)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-vxlan-'));
    sh('ip', ['netns', 'add', nsA]);
    sh('ip', ['netns', 'add', nsB]);
    for (const ns of [nsA, nsB]) {
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh('ip', ['link', 'add', 'a0', 'netns', nsA, 'type', 'veth', 'peer', 'name', 'b0', 'netns', nsB]);
    sh('ip', ['-n', nsA, 'addr', 'add', `${ipA}/24`, 'dev', 'a0']);
    sh('ip', ['-n', nsB, 'addr', 'add', `${ipB}/24`, 'dev', 'b0']);
    sh('ip', ['-n', nsA, 'link', 'set', 'a0', 'up']);
    sh('ip', ['-n', nsB, 'link', 'set', 'b0', 'up']);
    sh('ip', ['link', 'add', uplink, 'type', 'veth', 'peer', 'name', 'up0', 'netns', nsA]);
    sh('sysctl', ['-qw', `net.ipv6.conf.${uplink}.disable_ipv6=1`]);
    sh('ip', ['addr', 'add', `${upRoot}/30`, 'dev', uplink]);
    sh('ip', ['link', 'set', uplink, 'up']);
    sh('ip', ['-n', nsA, 'addr', 'add', `${upA}/30`, 'dev', 'up0']);
    sh('ip', ['-n', nsA, 'link', 'set', 'up0', 'up']);
  });

  after(() => {
    if (!dir) return;
    for (const ns of [nsA, nsB]) spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', uplink], { stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every frame on the mirrored port arrives with its VNI and outer addresses, matching tcpdump', async () => {
    const got: PacketSummary[] = [];
    const sink: PacketSink = { add: (p) => { got.push(p); return null; }, flush: async () => undefined };
    const c = new MirrorConnector(MirrorConfigSchema.parse({ host: upRoot, port: 0 }), null, sink);
    await c.start();
    const pcap = path.join(dir, 'a0.pcap');
    let dump: ReturnType<typeof spawn> | null = null;
    try {
      inA('ip', 'link', 'add', 'vxm', 'type', 'vxlan', 'id', String(VNI), 'remote', upRoot, 'local', upA, 'dstport', String(c.port), 'dev', 'up0');
      inA('ip', 'link', 'set', 'vxm', 'up');
      inA('tc', 'qdisc', 'add', 'dev', 'a0', 'clsact');
      for (const dirn of ['ingress', 'egress']) {
        inA('tc', 'filter', 'add', 'dev', 'a0', dirn, 'protocol', 'all', 'u32', 'match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'mirror', 'dev', 'vxm');
      }
      dump = spawn('ip', ['netns', 'exec', nsA, 'tcpdump', '-i', 'a0', '--immediate-mode', '-U', '-n', '-w', pcap], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      dump.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      assert.ok(await waitFor(() => err.includes('listening on'), 10_000), err);
      inA('python3', '-c', `import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('${ipA}',41000))\nfor i in range(${N}):\n  s.sendto(bytes(60+i),('${ipB}',9999))\n  time.sleep(0.005)`);
      await new Promise((r) => setTimeout(r, 1500)); // let tcpdump hand over its last buffer block
    } finally {
      if (dump) { dump.kill('SIGINT'); await new Promise((r) => dump!.once('exit', r)); }
      await c.close();
    }
    const fields = ['eth.src', 'eth.dst', 'ip.src', 'ip.dst', 'ip.proto', 'udp.srcport', 'udp.dstport', 'ip.id', 'arp.src.proto_ipv4', 'frame.len'];
    const truth = sh('tshark', ['-r', pcap, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=f', ...fields.flatMap((f) => ['-e', f])])
      .trim().split('\n').map((l) => l.split('|'));
    const key = (x: string[]) => x.join('|');
    const ours = got.map((p) => [p.src_mac ?? '', p.dst_mac ?? '', p.src_ip ?? '', p.dst_ip ?? '', p.ip_proto === null ? '' : String(p.ip_proto),
      p.ip_proto === 17 ? String(p.src_port) : '', p.ip_proto === 17 ? String(p.dst_port) : '',
      p.ip_id === null ? '' : `0x${Number(p.ip_id).toString(16).padStart(4, '0')}`, p.arp_sender_ip ?? '', String(p.wire_len)]);
    // ICMP errors quote the UDP header: tshark's first udp.* occurrence is the quoted one
    const truthKeys = truth.map((t) => key(t)).sort();
    const ourKeys = ours.map((o, i) => (got[i].ip_proto === 1 && got[i].icmp_quoted
      ? key([...o.slice(0, 5), String(got[i].icmp_quoted!.src_port), String(got[i].icmp_quoted!.dst_port), ...o.slice(7)]) : key(o))).sort();
    const udp = got.filter((p) => p.dst_port === 9999);
    // eslint-disable-next-line no-console
    console.log(`      vxlan mirror: ${got.length} frames received (${udp.length} UDP/9999), tcpdump on the port saw ${truth.length}; ` +
      `outer ${got[0]?.outer_src_ip} -> ${got[0]?.outer_dst_ip}, VNI ${got[0]?.tunnel_id}`);
    assert.equal(udp.length, N);
    assert.deepEqual(ourKeys, truthKeys);
    for (const p of got) {
      assert.equal(p.tunnel_type, 'VXLAN');
      assert.equal(Number(p.tunnel_id), VNI);
      assert.equal(p.outer_src_ip, upA);
      assert.equal(p.outer_dst_ip, upRoot);
      assert.equal(p.malformed, null);
    }
    assert.deepEqual(udp.map((p) => p.l4_payload_len), Array.from({ length: N }, (_, i) => 60 + i));
  });
});

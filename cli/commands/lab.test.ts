/**
 * The lab scripts on the real kernel (root): idempotent up (also over a half-made lab), fixed
 * addresses and MACs, offloads off, mirroring, traffic kinds, VM migration with IP and MAC kept,
 * and a down that leaves nothing behind. See docs/lab.md.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { LAB_SCRIPTS } from './lab';

const ROOT = path.resolve(__dirname, '..', '..');

function sh(cmd: string, args: string[]): { code: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
const script = (name: string, ...args: string[]) => sh('bash', [path.join(LAB_SCRIPTS, name), ...args]);
const cli = (...args: string[]) => sh(process.execPath, [path.join(ROOT, 'bin', 'tapline.js'), 'lab', ...args]);

/** What the lab consists of in the kernel: tl- links (with master and MAC), tl- namespaces, mirror filters. */
function snapshot(): string[] {
  const links = sh('ip', ['-o', 'link', 'show']).out.split('\n').filter((l) => / tl-/.test(l))
    .map((l) => l.replace(/^\d+: /, '').replace(/ qlen \d+/, '').replace(/<[^>]*>/, '').replace(/state \S+/, '').replace(/\s+/g, ' ').trim()).sort();
  const ns = sh('ip', ['netns', 'list']).out.split('\n').filter((l) => l.startsWith('tl-')).map((l) => l.split(' ')[0]).sort();
  const filters = ['tl-vm1-p', 'tl-vm2-p', 'tl-vm3-p', 'tl-vm4-p'].map((p) => `${p}:${(sh('tc', ['filter', 'show', 'dev', p, 'ingress']).out.match(/mirred/g) ?? []).length}`);
  return [...links.map((l) => l.replace(/^\S+ /, (m) => m.replace(/@\S+/, ''))), ...ns, ...filters];
}

function missing(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  for (const t of ['ip', 'tc', 'ethtool', 'tcpdump', 'curl', 'python3', 'iperf3', 'nmap']) {
    if (sh('sh', ['-c', `command -v ${t}`]).code !== 0) return `${t} missing`;
  }
  return null;
}

async function tcpdumpCount(iface: string, during: () => Promise<void>, filter: string): Promise<string> {
  const file = path.join(os.tmpdir(), `tl-lab-test-${process.pid}-${iface}.pcap`);
  const p = spawn('tcpdump', ['-i', iface, '-nn', '-U', '--immediate-mode', '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  for (let i = 0; i < 100 && !/listening on/.test(err); i++) await sleep(50);
  await during();
  await sleep(200);
  p.kill('SIGTERM');
  await new Promise((r) => p.once('exit', r));
  // only the lines tests look for: SYNs, DNS answers, ARP (a flood would make a huge string)
  const text = sh('tcpdump', ['-r', file, '-nn']).out.split('\n').filter((l) => /Flags \[S\]|\.53 > | A |ARP/.test(l)).join('\n');
  fs.rmSync(file, { force: true });
  return text;
}

describe('tapline lab: a virtual switch on the real kernel @lab @integration', function () {
  this.timeout(120_000);

  before(function () {
    const why = missing();
    if (why) throw new Error(`the lab cannot run here: ${why} (bash .ci/run installs what it needs)`);
    script('down.sh');
  });
  after(() => { if (!missing()) script('down.sh'); });

  it('up over a half-made lab completes it; up twice changes nothing; status says up', () => {
    // what a failed run may leave: a namespace and a veth pair that never got moved
    sh('ip', ['netns', 'add', 'tl-vm1']);
    sh('ip', ['link', 'add', 'tl-vm2-p', 'type', 'veth', 'peer', 'name', 'tl-vm2-x']);
    assert.equal(cli('status').code, 2, 'partial');
    const first = cli('up');
    assert.equal(first.code, 0, first.out);
    const before = snapshot();
    const again = script('up.sh');
    assert.equal(again.code, 0, again.out);
    assert.deepEqual(snapshot(), before);
    const st = cli('status');
    assert.equal(st.code, 0, st.out);
    assert.match(st.out, /lab: up/);
    assert.match(st.out, /vm2: port tl-vm2-p on tl-br-h1 \(2 mirror filters\)/);
  });

  it('fixed addresses and MACs, offloads off, no lab address in the root namespace', () => {
    const eth = sh('ip', ['-n', 'tl-vm3', '-o', 'addr', 'show', 'dev', 'eth0']).out;
    assert.match(eth, /inet 10\.77\.2\.13\/24/);
    assert.match(sh('ip', ['-n', 'tl-vm3', 'link', 'show', 'eth0']).out, /link\/ether 02:77:00:00:00:03/);
    for (const [ns, dev] of [[null, 'tl-vm1-p'], ['tl-vm1', 'eth0'], [null, 'tl-mon-h1'], ['tl-router', 'r-h2']] as const) {
      const k = ns ? sh('ip', ['netns', 'exec', ns, 'ethtool', '-k', dev]).out : sh('ethtool', ['-k', dev]).out;
      assert.match(k, /^generic-segmentation-offload: off/m, `${ns ?? ''} ${dev}`);
      assert.match(k, /^tcp-segmentation-offload: off/m);
      assert.match(k, /^generic-receive-offload: off/m);
    }
    assert.doesNotMatch(sh('ip', ['-o', 'addr', 'show']).out, /10\.77\./);
  });

  it('traffic kinds work between VMs, within and across hosts, and the monitor port sees them', async () => {
    const seen = await tcpdumpCount('tl-mon-h1', async () => {
      const run = promisify(execFile);
      const http = await run('bash', [path.join(LAB_SCRIPTS, 'traffic.sh'), 'http', 'vm1', 'vm3', '12345']);
      assert.match(http.stdout, /^http 10\.77\.1\.11:\d+ -> 10\.77\.2\.13:80 code=200 bytes=12345$/m);
      const dns = await run('bash', [path.join(LAB_SCRIPTS, 'traffic.sh'), 'dns', 'vm2', 'vm1', 'vm4.lab', '2']);
      assert.match(dns.stdout, /id=2 local_port=\d+ rcode=0 answer=10\.77\.2\.14/);
      const nx = await run('bash', [path.join(LAB_SCRIPTS, 'traffic.sh'), 'dns', 'vm2', 'vm1', 'nope.lab']);
      assert.match(nx.stdout, /rcode=3/);
      const ip = await run('bash', [path.join(LAB_SCRIPTS, 'traffic.sh'), 'iperf', 'vm2', 'vm4', '1', '-b', '10M']);
      assert.match(ip.stdout, /receiver/);
      const nm = await run('bash', [path.join(LAB_SCRIPTS, 'traffic.sh'), 'nmap', 'vm1', 'vm2', '79-81']);
      assert.match(nm.stdout, /Nmap scan report for 10\.77\.1\.12/);
      assert.match(nm.stdout, /81\/tcp\s+closed/);
    }, 'ip');
    assert.match(seen, /10\.77\.1\.11\.\d+ > 10\.77\.2\.13\.80: Flags \[S\]/);
    assert.match(seen, /10\.77\.1\.11\.53 > 10\.77\.1\.12\.\d+: .*A 10\.77\.2\.14/);
    assert.match(seen, /10\.77\.1\.12\.\d+ > 10\.77\.2\.14\.5201/);
    assert.match(seen, /10\.77\.1\.11\.\d+ > 10\.77\.1\.12\.81: Flags \[S\]/);
    const unknown = script('traffic.sh', 'http', 'vm1', '10.0.0.1');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.out, /unknown VM/);
  });

  it('migrate moves a VM to the other host keeping IP and MAC; it stays reachable and is mirrored there', async () => {
    const m = cli('migrate', 'vm2', 'h2');
    assert.equal(m.code, 0, m.out);
    assert.match(cli('status').out, /vm2: port tl-vm2-p on tl-br-h2 \(2 mirror filters\)/);
    assert.match(sh('ip', ['-n', 'tl-vm2', '-o', 'addr', 'show', 'dev', 'eth0']).out, /10\.77\.1\.12\/24/);
    assert.match(sh('ip', ['-n', 'tl-vm2', 'link', 'show', 'eth0']).out, /02:77:00:00:00:02/);
    const run = promisify(execFile);
    const onH2 = await tcpdumpCount('tl-mon-h2', async () => {
      for (const from of ['vm1', 'vm3']) {
        const r = await run('bash', [path.join(LAB_SCRIPTS, 'traffic.sh'), 'http', from, 'vm2', '5000']);
        assert.match(r.stdout, /code=200 bytes=5000/);
      }
    }, 'tcp port 80');
    assert.match(onH2, /10\.77\.1\.11\.\d+ > 10\.77\.1\.12\.80: Flags \[S\]/, `vm1 -> vm2 now crosses to h2:\n${onH2}`);
    assert.match(onH2, /10\.77\.2\.13\.\d+ > 10\.77\.1\.12\.80: Flags \[S\]/);
    assert.equal(cli('migrate', 'vm2', 'h2').code, 0, 'already there: a no-op');
    assert.equal(cli('migrate', 'vm2', 'h1').code, 0);
    assert.match(cli('status').out, /vm2: port tl-vm2-p on tl-br-h1/);
    assert.doesNotMatch(sh('ip', ['-n', 'tl-router', 'route']).out, /10\.77\.1\.12/);
    const back = await run('bash', [path.join(LAB_SCRIPTS, 'traffic.sh'), 'http', 'vm3', 'vm2', '5000']);
    assert.match(back.stdout, /code=200/);
  });

  it('down removes everything (servers included) and can run twice', () => {
    const pids = fs.readdirSync('/run/tapline-lab/pids').map((f) => Number(fs.readFileSync(path.join('/run/tapline-lab/pids', f), 'utf8')));
    assert.ok(pids.length >= 2);
    const d = cli('down');
    assert.equal(d.code, 0, d.out);
    assert.deepEqual(snapshot().filter((s) => !/:0$/.test(s)), []);
    assert.equal(fs.existsSync('/run/tapline-lab'), false);
    for (const pid of pids) {
      const stat = fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
      assert.ok(stat === '' || /^\d+ \(.*\) Z/.test(stat), `server ${pid} stopped: ${stat}`);
    }
    assert.equal(cli('down').code, 0);
    assert.equal(cli('status').code, 1);
  });
});

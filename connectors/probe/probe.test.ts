import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KafkaClient } from '../../lib/kafka';
import { KafkaBroker } from '../../lib/services/kafka-broker';
import { AvroCodec } from '../../schemas';
import { PROBE_RESULT_SCHEMA, PROBE_RESULT_TOPIC, type ProbeResult } from '../../schemas/probe-result';
import { createConnector } from '../registry';
import { ProbeConnector } from './probe';
import { ProbeConfigSchema, parseTarget } from './config';
import { ProbeResponder } from './responder';
import { rttStats } from './prober';
import { decodeProbe, encodeProbe } from './wire';

const REPO = path.resolve(__dirname, '../..');
const SANE_RTT_NS = 1_000_000_000n; // 1 s: anything above on loopback/veth is a measurement bug

async function run(cfg: Record<string, unknown>): Promise<{ c: ProbeConnector; results: ProbeResult[] }> {
  const results: ProbeResult[] = [];
  const c = new ProbeConnector(ProbeConfigSchema.parse(cfg), null, (r) => results.push(r));
  await c.start();
  await c.done();
  await c.close();
  return { c, results };
}

function checkRtts(r: ProbeResult): void {
  assert.equal(r.rtt_samples_ns.length, r.received);
  assert.equal(r.lost, r.sent - r.received);
  for (const s of r.rtt_samples_ns) assert.ok(BigInt(s) > 0n && BigInt(s) < SANE_RTT_NS, `rtt ${s}`);
  if (r.received > 0) {
    assert.ok(BigInt(r.rtt_min_ns!) <= BigInt(r.rtt_mean_ns!) && BigInt(r.rtt_mean_ns!) <= BigInt(r.rtt_max_ns!));
  } else {
    assert.equal(r.rtt_min_ns, null);
  }
  assert.ok(BigInt(r.interval_end_ns) >= BigInt(r.interval_start_ns));
}

describe('probe connector', function () {
  this.timeout(30_000);

  it('encodes probes, parses targets, computes RTT statistics', () => {
    assert.deepEqual(decodeProbe(encodeProbe(0xdeadbeef, 42, 64)), { session: 0xdeadbeef, seq: 42 });
    assert.equal(encodeProbe(1, 1, 64).length, 64);
    assert.equal(decodeProbe(Buffer.from('hello world, not a probe')), null);
    assert.deepEqual(parseTarget('10.0.0.2:7050'), { host: '10.0.0.2', port: 7050 });
    assert.deepEqual(parseTarget('[fd00::2]:7050'), { host: 'fd00::2', port: 7050 });
    assert.deepEqual(parseTarget('vm2'), { host: 'vm2', port: 7040 });
    assert.deepEqual(rttStats([3n, 1n, 5n]), { min: 1n, mean: 3n, max: 5n });
    assert.deepEqual(rttStats([]), { min: null, mean: null, max: null });
    const cfg = ProbeConfigSchema.parse({ targets: ['10.0.0.2'] });
    assert.deepEqual(cfg.targets, [{ host: '10.0.0.2', port: 7040, kinds: ['tcp', 'udp'] }]);
    assert.throws(() => createConnector('probe', { targets: [] }, null as never), /targets/);
  });

  it('measures TCP connect and UDP echo against a responder on 127.0.0.1 with exact counts', async () => {
    const resp = new ProbeResponder({ host: '127.0.0.1', port: 0 });
    await resp.start();
    try {
      const { results } = await run({
        targets: [{ host: '127.0.0.1', port: resp.udpPort, kinds: ['udp'] }, { host: '127.0.0.1', port: resp.tcpPort, kinds: ['tcp'] }],
        intervalMs: 200, intervals: 3, udpPacketsPerInterval: 20, tcpConnectsPerInterval: 2, timeoutMs: 500, prober: 'probe:test',
      });
      const udp = results.filter((r) => r.kind === 'UDP_ECHO');
      const tcp = results.filter((r) => r.kind === 'TCP_CONNECT');
      assert.equal(udp.length, 3);
      assert.equal(tcp.length, 3);
      for (const r of udp) { assert.equal(r.sent, 20); assert.equal(r.received, 20); assert.equal(r.lost, 0); checkRtts(r); }
      for (const r of tcp) { assert.equal(r.sent, 2); assert.equal(r.received, 2); checkRtts(r); }
      assert.ok(results.every((r) => r.prober === 'probe:test' && r.error === null));
      assert.equal(resp.stats.echoed, 60);
      assert.equal(resp.stats.accepted, 6);
      // consecutive intervals start ~intervalMs apart
      const gap = Number(BigInt(udp[1].interval_start_ns) - BigInt(udp[0].interval_start_ns)) / 1e6;
      assert.ok(gap > 150 && gap < 400, `interval spacing ${gap} ms`);
    } finally {
      await resp.close();
    }
  });

  it('reports refused TCP and unanswered UDP as loss; late echoes are lost, never received', async () => {
    // a "responder" that answers every other datagram 300 ms late (timeout 100 ms)
    const slow = dgram.createSocket('udp4');
    await new Promise<void>((r) => slow.bind(0, '127.0.0.1', () => r()));
    let n = 0;
    slow.on('message', (m, ri) => { if (n++ % 2 === 0) slow.send(m, ri.port, ri.address); else setTimeout(() => slow.send(m, ri.port, ri.address), 300); });
    const closed = dgram.createSocket('udp4');
    await new Promise<void>((r) => closed.bind(0, '127.0.0.1', () => r()));
    const closedPort = closed.address().port;
    closed.close(); // nothing listens there now (TCP or UDP)
    try {
      const { c, results } = await run({
        targets: [{ host: '127.0.0.1', port: slow.address().port, kinds: ['udp'] }, { host: '127.0.0.1', port: closedPort, kinds: ['tcp', 'udp'] }],
        intervalMs: 100, intervals: 2, udpPacketsPerInterval: 10, timeoutMs: 100,
      });
      await new Promise((r) => setTimeout(r, 400));
      const slowRes = results.filter((r) => r.target.endsWith(`:${slow.address().port}`));
      assert.equal(slowRes.length, 2);
      for (const r of slowRes) { assert.equal(r.sent, 10); assert.equal(r.received, 5); assert.equal(r.lost, 5); assert.equal(r.error, 'timeout'); checkRtts(r); }
      const tcp = results.find((r) => r.kind === 'TCP_CONNECT')!;
      assert.equal(tcp.received, 0);
      assert.equal(tcp.lost, 1);
      assert.equal(tcp.error, 'ECONNREFUSED');
      const udpClosed = results.filter((r) => r.kind === 'UDP_ECHO' && r.target.endsWith(`:${closedPort}`));
      assert.ok(udpClosed.every((r) => r.received === 0 && r.lost === 10));
      assert.equal(c.metrics.totals.received, results.length);
    } finally {
      slow.close();
    }
  });

  it('close() while start() connects to Kafka: no probing starts, the producer is closed, done() resolves', async () => {
    let connected = 0, closed = 0, sends = 0;
    const producer = {
      connect: async () => { await new Promise((r) => setTimeout(r, 50)); connected++; },
      close: async () => { closed++; },
      send: async () => { sends++; },
    };
    const kafka = { producer: () => producer, ensureTopics: async () => undefined } as unknown as KafkaClient;
    const c = new ProbeConnector(ProbeConfigSchema.parse({ targets: [{ host: '127.0.0.1', port: 9, kinds: ['udp'] }], intervalMs: 20 }), kafka);
    const started = c.start();
    await new Promise((r) => setTimeout(r, 10));
    await c.close();
    await started;
    await c.close();
    const summary = await c.done();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(summary.packets, 0);
    assert.deepEqual([sends, c.metrics.totals.received], [0, 0], 'nothing probed or published after close()');
    assert.ok(connected >= 1 && closed >= 1, 'the producer start() connected was closed');
  });

  it('responder on port 0: a TCP collision on the UDP port the kernel picked is retried on another port', async () => {
    const r = new ProbeResponder({ host: '127.0.0.1', port: 0 });
    const self = r as unknown as { listen: (h: string, p: number) => Promise<void> };
    const listen = self.listen.bind(r);
    let calls = 0;
    self.listen = async (h, p) => {
      calls++;
      await listen(h, p);
      if (calls === 1) throw Object.assign(new Error('listen EADDRINUSE (simulated)'), { code: 'EADDRINUSE' });
    };
    await r.start();
    try {
      assert.equal(calls, 2);
      assert.ok(r.udpPort > 0 && r.udpPort === r.tcpPort, 'one port for both protocols');
      const { results } = await run({ targets: [{ host: '127.0.0.1', port: r.udpPort, kinds: ['tcp', 'udp'] }], intervalMs: 100, intervals: 1, udpPacketsPerInterval: 3, timeoutMs: 200 });
      assert.deepEqual(results.map((x) => x.lost).sort(), [0, 0], 'it answers on the port it reports');
    } finally {
      await r.close();
    }
  });

  it('responder ignores datagrams that are not probes (no reflection)', async () => {
    const resp = new ProbeResponder({ host: '127.0.0.1', port: 0, tcp: false });
    await resp.start();
    const s = dgram.createSocket('udp4');
    let got = 0;
    s.on('message', () => got++);
    await new Promise<void>((r) => s.send(Buffer.from('GET / HTTP/1.0\r\n\r\n'), resp.udpPort, '127.0.0.1', () => r()));
    await new Promise<void>((r) => s.send(encodeProbe(1, 1, 32), resp.udpPort, '127.0.0.1', () => r()));
    await new Promise((r) => setTimeout(r, 100));
    s.close();
    await resp.close();
    await resp.close();
    assert.equal(got, 1);
    assert.deepEqual(resp.stats, { echoed: 1, ignored: 1, accepted: 0 });
  });
});

/**
 * Two network namespaces joined by a veth pair; the responder runs in one, the prober in the
 * other (each a `tapline` child process: a Node process cannot switch namespaces), and iptables
 * in the responder's namespace drops every 4th probe datagram. The prober's loss must equal the
 * DROP rule's packet counter exactly. Needs root (ip netns, iptables).
 */
describe('probe between two network namespaces with iptables loss @netns', function () {
  this.timeout(60_000);
  const id = `${process.pid % 10000}`;
  const nsA = `tlprobeA${id}`; const nsB = `tlprobeB${id}`;
  const ipA = '10.252.77.1'; const ipB = '10.252.77.2';
  let responder: ChildProcess | null = null;
  const sh = (args: string[]) => execFileSync(args[0], args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const can = process.getuid?.() === 0 && spawnSync('iptables', ['-V']).status === 0 && spawnSync('ip', ['netns', 'list']).status === 0;

  before(async function () {
    if (!can) throw new Error('needs root, iptables and ip netns (bash .ci/run installs them)');
    sh(['ip', 'netns', 'add', nsA]);
    sh(['ip', 'netns', 'add', nsB]);
    sh(['ip', 'link', 'add', `tlpa${id}`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `tlpb${id}`, 'netns', nsB]);
    sh(['ip', '-n', nsA, 'addr', 'add', `${ipA}/30`, 'dev', `tlpa${id}`]);
    sh(['ip', '-n', nsB, 'addr', 'add', `${ipB}/30`, 'dev', `tlpb${id}`]);
    for (const [ns, dev] of [[nsA, `tlpa${id}`], [nsB, `tlpb${id}`]]) {
      sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh(['ip', 'netns', 'exec', nsB, 'iptables', '-A', 'INPUT', '-p', 'udp', '--dport', '7040', '-m', 'statistic', '--mode', 'nth', '--every', '4', '--packet', '0', '-j', 'DROP']);
    responder = spawn('ip', ['netns', 'exec', nsB, process.execPath, path.join(REPO, 'bin/tapline.js'), 'probe-responder', '--host', ipB, '--port', '7040'],
      { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('responder did not start')), 20_000);
      responder!.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) { clearTimeout(t); resolve(); } });
    });
  });

  after(() => {
    if (responder && responder.exitCode === null) responder.kill('SIGTERM');
    for (const ns of [nsA, nsB]) spawnSync('ip', ['netns', 'del', ns]);
  });

  it('reported UDP loss equals the iptables DROP counter; TCP unaffected; RTTs sane', async () => {
    const out = sh(['ip', 'netns', 'exec', nsA, process.execPath, path.join(REPO, 'bin/tapline.js'), 'probe', `${ipB}:7040`,
      '--count', '5', '--interval', '300', '--udp-packets', '22', '--timeout', '500']);
    const results = out.trim().split('\n').map((l) => JSON.parse(l) as ProbeResult);
    const udp = results.filter((r) => r.kind === 'UDP_ECHO');
    const tcp = results.filter((r) => r.kind === 'TCP_CONNECT');
    assert.equal(udp.length, 5);
    assert.equal(tcp.length, 5);
    const rule = sh(['ip', 'netns', 'exec', nsB, 'iptables', '-L', 'INPUT', '-v', '-n', '-x']).split('\n').find((l) => l.includes('DROP'))!;
    const dropped = Number(rule.trim().split(/\s+/)[0]);
    const sent = udp.reduce((a, r) => a + r.sent, 0);
    const lost = udp.reduce((a, r) => a + r.lost, 0);
    // eslint-disable-next-line no-console
    console.log(`      netns: sent ${sent} UDP probes, reported lost ${lost}, iptables DROP counter ${dropped}; ` +
      `udp rtt ns min/mean/max of interval 1: ${udp[0].rtt_min_ns}/${udp[0].rtt_mean_ns}/${udp[0].rtt_max_ns}; tcp rtt ns: ${tcp.map((r) => r.rtt_min_ns).join(',')}`);
    assert.equal(sent, 110);
    assert.equal(dropped, Math.ceil(110 / 4)); // nth every 4, packet 0: the 1st, 5th, 9th ... datagram
    assert.equal(lost, dropped);
    for (const r of [...udp, ...tcp]) checkRtts(r);
    assert.ok(tcp.every((r) => r.received === 1 && r.lost === 0));
  });
});

describe('probe connector -> Kafka @integration', function () {
  this.timeout(180_000);
  let broker: KafkaBroker;
  let kafka: KafkaClient;
  let stateDir: string;

  before(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-probe-kafka-'));
    broker = new KafkaBroker({ stateDir, port: 21192 }); // below the ephemeral range (32768-60999)
    const { brokers } = await broker.start();
    kafka = new KafkaClient({ brokers, clientId: 'probe-test' });
    await kafka.ensureTopics([{ topic: PROBE_RESULT_TOPIC, partitions: 2 }]);
  });

  after(async () => {
    await kafka?.close();
    await broker?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('publishes Avro ProbeResult records on tapline.probes.v1', async () => {
    const resp = new ProbeResponder({ host: '127.0.0.1', port: 0 });
    await resp.start();
    const c = createConnector('probe', {
      targets: [{ host: '127.0.0.1', port: resp.udpPort }], intervalMs: 200, intervals: 3, udpPacketsPerInterval: 5, prober: 'probe:kafka-it',
    }, kafka) as ProbeConnector;
    await c.start();
    await c.done();
    await c.close();
    await resp.close();
    assert.equal(c.results.length, 6);
    assert.equal(c.metrics.totals.sent, 6);
    const codec = new AvroCodec<ProbeResult>(PROBE_RESULT_SCHEMA);
    const got: ProbeResult[] = [];
    const consumer = kafka.consumer(`probe-it-${Date.now()}`);
    await consumer.run([PROBE_RESULT_TOPIC], async (b) => { for (const m of b.messages) got.push(codec.decode(m.value!)); });
    const end = Date.now() + 30_000;
    while (got.length < 6 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    await consumer.close();
    assert.equal(got.length, 6);
    const key = (r: ProbeResult) => `${r.kind}/${r.interval_start_ns}`;
    const byKey = new Map(c.results.map((r) => [key(r), r]));
    for (const r of got) {
      const mine = byKey.get(key(r))!;
      assert.ok(mine, key(r));
      assert.equal(r.sent, mine.sent);
      assert.equal(r.received, mine.received);
      assert.deepEqual(r.rtt_samples_ns.map(BigInt), mine.rtt_samples_ns.map(BigInt));
      assert.equal(r.prober, 'probe:kafka-it');
    }
  });
});

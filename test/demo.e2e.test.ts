/**
 * The thin slice end to end on real services: the demo capture through a real Kafka broker,
 * the aggregate stage and the embedded TimescaleDB. The rows are checked against totals that
 * tshark computes from the same file, and a second replay must leave the table unchanged.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { testConfig, testServices } from './support/services';
import { ensurePipelineTopics } from '../cli/services';
import { replayFile } from '../pipelines/replay';
import { exactConversations, tsharkAvailable } from '../lib/reference/tshark';
import { DEMO_FILE, runDemo } from '../cli/demo/run-demo';

async function tableSnapshot(pool: import('pg').Pool, op: string): Promise<string[]> {
  const r = await pool.query(`SELECT window_start, flow_key, packets_ab, bytes_ab, packets_ba, bytes_ba, first_seen, last_seen
    FROM flow_windows WHERE observation_point = $1 ORDER BY flow_key, window_start`, [op]);
  return r.rows.map((x) => JSON.stringify(x));
}

describe('demo path: pcap -> Kafka -> aggregate -> TimescaleDB @integration', function () {
  this.timeout(900_000);

  before(function () {
    if (!tsharkAvailable()) throw new Error('tshark is required for this test (apt-get install tshark)');
  });

  it('writes per-flow windows whose totals equal tshark\'s conversation sums, exactly once across replays', async () => {
    const cfg = testConfig();
    const s = await testServices();
    await ensurePipelineTopics(cfg, s.kafka);
    const op = 'e2e:bro-org';
    const first = await replayFile(cfg, s.kafka, s.pool, DEMO_FILE, { observationPoint: op });
    assert.equal(first.capture.packets, 751);
    assert.equal(first.deadLettered, 0);
    assert.equal(first.late, 0);

    const rows = await s.pool.query(`SELECT ip_proto, host(addr_a) a, port_a, host(addr_b) b, port_b,
        sum(packets_ab)::int pab, sum(bytes_ab)::int bab, sum(packets_ba)::int pba, sum(bytes_ba)::int bba
      FROM flow_windows WHERE observation_point = $1 GROUP BY 1,2,3,4,5`, [op]);
    for (const proto of ['tcp', 'udp'] as const) {
      const ref = exactConversations(DEMO_FILE, proto);
      const ours = rows.rows.filter((r) => r.ip_proto === (proto === 'tcp' ? 6 : 17));
      assert.equal(ours.length, ref.size, `${proto}: number of conversations`);
      for (const r of ours) {
        const c = ref.get(`${r.a}|${r.port_a}|${r.b}|${r.port_b}`);
        assert.ok(c, `${proto} ${r.a}:${r.port_a} <-> ${r.b}:${r.port_b} not in tshark's output`);
        assert.deepEqual([r.pab, r.bab, r.pba, r.bba], [c.framesAB, c.bytesAB, c.framesBA, c.bytesBA], `${r.a}:${r.port_a} <-> ${r.b}:${r.port_b}`);
      }
    }
    // TCP flag counts against tshark's display filters on the same file.
    const flags = await s.pool.query(`SELECT sum(syn_count)::int syn, sum(synack_count)::int synack, sum(fin_count)::int fin,
      sum(rst_count)::int rst, sum(zero_window_count)::int zwin FROM flow_windows WHERE observation_point = $1`, [op]);
    const count = (filter: string) => execFileSync('tshark', ['-r', DEMO_FILE, '-Y', filter], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
    assert.deepEqual(flags.rows[0], {
      syn: count('tcp.flags.syn==1 && tcp.flags.ack==0'), synack: count('tcp.flags.syn==1 && tcp.flags.ack==1'),
      fin: count('tcp.flags.fin==1'), rst: count('tcp.flags.reset==1'), zwin: count('tcp.window_size_value==0 && tcp.flags.reset==0'),
    });
    // Windows are 10 s tumbling windows aligned to the epoch.
    const w = await s.pool.query(`SELECT count(*)::int n FROM flow_windows WHERE observation_point = $1
      AND (extract(epoch FROM window_start)::bigint % 10 <> 0 OR window_end - window_start <> interval '10 s')`, [op]);
    assert.equal(w.rows[0].n, 0);

    const before = await tableSnapshot(s.pool, op);
    const second = await replayFile(cfg, s.kafka, s.pool, DEMO_FILE, { observationPoint: op });
    assert.equal(second.capture.packets, 751, 'the second run reads the file again');
    assert.equal(second.flowWindows, first.flowWindows, 'and emits the same windows');
    assert.deepEqual(await tableSnapshot(s.pool, op), before, 'replaying the same data changes nothing');
  });

  it('runs `tapline demo --file` against services that already run (--brokers/--pg) and leaves them running', async () => {
    const s = await testServices();
    const lines: string[] = [];
    const cfg = testConfig({ 'kafka.brokers': s.brokers, 'timescale.url': s.pgUrl });
    const res = await runDemo(cfg, { file: DEMO_FILE, out: (l) => lines.push(l), top: 5 });
    assert.equal(res.top.length, 5);
    assert.equal(res.top[0].port_a, 55080, 'the biggest download comes first');
    assert.ok(res.tshark.available && res.tshark.compared === 13 && res.tshark.matched === 13, lines.join('\n'));
    assert.match(lines.join('\n'), /13\/13 TCP conversations identical/);
    assert.ok(res.replay.stages.some((st) => st.name === 'identify') && res.replay.stages.some((st) => st.name.startsWith('detect-')),
      'the whole pipeline ran, detectors included');
    assert.ok(lines.some((l) => l.includes(`psql '${s.pgUrl}'`)), 'prints a psql line for the given database');
    const stillUp = await s.pool.query('SELECT 1 AS one');
    assert.equal(stillUp.rows[0].one, 1, 'the database was not stopped by the demo');
    assert.equal(path.basename(DEMO_FILE), 'bro-org-http.pcap');
  });

  it('`tapline demo` by default replays the recorded lab scenario: flows equal tshark on both monitors, VMs with hosts, alerts scored', async () => {
    const s = await testServices();
    const lines: string[] = [];
    const cfg = testConfig({ 'kafka.brokers': s.brokers, 'timescale.url': s.pgUrl });
    const res = await runDemo(cfg, { out: (l) => lines.push(l), top: 8 });
    const text = lines.join('\n');
    assert.deepEqual(res.replay.captures.map((c) => c.observationPoint), ['lab:h1', 'lab:h2']);
    assert.ok(res.tshark.available && res.tshark.compared > 100 && res.tshark.matched === res.tshark.compared, text);
    assert.match(text, /VM pairs with their hosts/);
    assert.match(text, /vm2 \(h1\)/, 'vm2 before its migration');
    assert.match(text, /vm2 \(h2\)/, 'and after it');
    assert.ok(res.alerts.some((a) => a.type === 'port_scan'), text);
    assert.ok(res.evaluation && res.evaluation.events.length >= 7, 'scored against the ground truth');
    assert.match(text, /precision/);
    const inDb = await s.pool.query(`SELECT count(*)::int n FROM alerts WHERE type = 'port_scan'`);
    assert.ok(inDb.rows[0].n >= 1, 'the alerts reached TimescaleDB');
  });
});

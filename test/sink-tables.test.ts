/**
 * Every sink table on real services: the migrated columns are exactly what the Avro schemas
 * derive to (a schema change without a migration fails here), every table receives the rows of
 * real records produced through Kafka and the sink, and consuming the same offsets again (a new
 * consumer group: a replay) leaves every table byte-for-byte as it was.
 */
import assert from 'node:assert/strict';
import { testServices } from './support/services';
import { AvroCodec } from '../schemas';
import { avroColumns } from '../lib/db/avro-columns';
import { TimescaleSink, migrateSinkSchema, TABLE_SPECS } from '../pipelines/sinks/timescale';
import { sampleRecords } from '../pipelines/sinks/timescale/tables/fixtures';
import { ZERO_BIN } from '../pipelines/sinks/timescale/tables/flow-metrics';
import type { Pool } from 'pg';

const RUN = `sinktab${process.pid}x${Date.now()}`;

/** Columns that are no Avro field, per table: name -> [type, nullable]. */
const EXTRA: Record<string, Record<string, [string, boolean]>> = {
  l7_events: { event_id: ['text', false] },
  alerts: { acked_at: ['timestamp with time zone', true], acked_by: ['text', true], resolved_by: ['text', true] },
};
const SKETCH_BINS: Record<string, [string, boolean]> = {
  window_start: ['timestamp with time zone', false], window_end: ['timestamp with time zone', false], observation_point: ['text', false],
  flow_key: ['text', false], vm_a: ['text', true], vm_b: ['text', true], addr_a: ['inet', false], addr_b: ['inet', false], kind: ['text', false],
  gamma: ['double precision', false], bin: ['integer', false], count: ['double precision', false],
};
/** The column that marks this run's rows in each table. */
const MARKER: Record<string, string> = {
  flow_windows: 'observation_point', identified_flows: 'observation_point', flow_metrics: 'observation_point', rtt_sketch_bins: 'observation_point',
  l7_events: 'observation_point', path_loss: 'upstream_point', rollups: 'key', probe_results: 'prober', capture_health: 'observation_point',
  interface_counters: 'observation_point', vm_inventory: 'vm_id', vm_events: 'vm', alerts: 'id', alert_states: 'id',
};
const TABLES = Object.keys(MARKER);

async function dbColumns(pool: Pool, table: string): Promise<Record<string, [string, boolean]>> {
  const r = await pool.query<{ column_name: string; t: string; is_nullable: string }>(
    `SELECT column_name, CASE WHEN data_type = 'ARRAY' THEN udt_name ELSE data_type END AS t, is_nullable
       FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`, [table]);
  return Object.fromEntries(r.rows.map((c) => [c.column_name, [c.t, c.is_nullable === 'YES']]));
}

async function dump(pool: Pool): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of TABLES) {
    const r = await pool.query<{ j: string }>(`SELECT to_jsonb(t)::text AS j FROM ${t} t WHERE ${MARKER[t]} LIKE $1 ORDER BY 1`, [`${RUN}%`]);
    out[t] = r.rows.map((x) => x.j);
  }
  return out;
}

const keyOf = (r: Record<string, unknown>) => String(r.flow_key ?? r.vm_id ?? r.dedup_key ?? r.vm ?? r.prober ?? r.observation_point ?? r.key);

describe('sink tables @integration', function () {
  this.timeout(300_000);

  it('migrated columns are exactly the Avro-derived ones, with comments, as hypertables', async () => {
    const s = await testServices();
    await migrateSinkSchema(s.pool);
    for (const spec of TABLE_SPECS) {
      for (const target of spec.targets) {
        const expected: Record<string, [string, boolean]> = target.table === 'rtt_sketch_bins' ? { ...SKETCH_BINS } : {};
        if (target.table !== 'rtt_sketch_bins') for (const c of avroColumns(spec.schema)) expected[c.name] = [c.pgType, c.nullable];
        Object.assign(expected, EXTRA[target.table] ?? {});
        assert.deepEqual(await dbColumns(s.pool, target.table), expected, `columns of ${target.table} (schema ${spec.schema})`);
        // the sink writes every column except the dashboard's
        assert.deepEqual(target.columns.map((c) => c.name).sort(),
          Object.keys(expected).filter((c) => !(target.dbOnlyColumns ?? []).includes(c)).sort(), `sink columns of ${target.table}`);
      }
    }
    const ht = await s.pool.query<{ hypertable_name: string }>('SELECT hypertable_name FROM timescaledb_information.hypertables');
    const hypertables = new Set(ht.rows.map((r) => r.hypertable_name));
    for (const t of TABLES) {
      assert.ok(hypertables.has(t), `${t} is a hypertable`);
      const c = await s.pool.query<{ d: string | null }>('SELECT obj_description($1::regclass, \'pg_class\') AS d', [t]);
      assert.match(c.rows[0].d ?? '', /^tapline: /, `${t} has a comment`);
    }
    const v = await s.pool.query('SELECT column_name FROM information_schema.columns WHERE table_name = \'vm_inventory_history\' AND column_name = \'valid_to\'');
    assert.equal(v.rowCount, 1, 'the inventory history view has valid_to');
  });

  it('every table gets the rows of real records through Kafka, and a replay changes nothing', async () => {
    const s = await testServices();
    const records = await sampleRecords(RUN);
    const topics: Record<string, string> = {};
    const prod = s.kafka.producer();
    await s.kafka.ensureTopics([...TABLE_SPECS.map((spec) => ({ topic: `${RUN}.${spec.name}`, partitions: 2 })), { topic: `${RUN}.dlq`, partitions: 1 }]);
    for (const spec of TABLE_SPECS) {
      const recs = records.get(spec.name) ?? [];
      assert.ok(recs.length > 0, `fixtures for ${spec.name}`);
      topics[spec.name] = `${RUN}.${spec.name}`;
      const codec = new AvroCodec(spec.schema);
      const msgs = recs.map((r) => ({ key: keyOf(r), value: codec.encode(r) }));
      // Two byte-identical consecutive L7 events (pipelined identical requests) are two events.
      if (spec.name === 'l7_events') msgs.splice(1, 0, msgs[0]);
      await prod.send(topics[spec.name], msgs);
    }
    await prod.close();
    const sinkRun = async (group: string) => {
      const sink = new TimescaleSink({ topics, deadLetterTopic: `${RUN}.dlq`, groupId: group, batchSize: 7 }, { kafka: s.kafka, pool: s.pool, bounded: true });
      try { await sink.start(); await sink.done(); } finally { await sink.close(); }
      return sink;
    };
    const first = await sinkRun(`${RUN}-a`);
    assert.equal(first.metrics.totals.dropped, 0, 'nothing dead-lettered');
    const d1 = await dump(s.pool);

    const n = (name: string) => records.get(name)!.length;
    for (const t of ['flow_windows', 'identified_flows', 'flow_metrics', 'path_loss', 'rollups', 'probe_results', 'capture_health', 'interface_counters', 'vm_inventory', 'vm_events']) {
      assert.equal(d1[t].length, n(t), `${t}: one row per record`);
    }
    assert.equal(d1.l7_events.length, n('l7_events') + 1, 'l7_events: one row per event, the repeated one twice');
    assert.equal(d1.alerts.length, 1, 'alerts: one row per occurrence');
    assert.equal(d1.alert_states.length, 3, 'alert_states: every state');
    const bins = records.get('flow_metrics')!.reduce((acc, m) => acc + ['rtt_data_ab', 'rtt_data_ba', 'rtt_ts_ab', 'rtt_ts_ba', 'rtt_icmp_echo']
      .reduce((a, k) => { const st = m[k] as { sketch: { keys: number[]; zero_count: number } } | null; return a + (st ? st.sketch.keys.length + (st.sketch.zero_count > 0 ? 1 : 0) : 0); }, 0), 0);
    assert.ok(bins > 0, 'the capture has RTT samples');
    assert.equal(d1.rtt_sketch_bins.length, bins, 'rtt_sketch_bins: one row per sketch bin');

    // Values land where the contract says.
    const q = async (sql: string, ...p: unknown[]) => (await s.pool.query(sql, p)).rows;
    const fm = records.get('flow_metrics')!.find((m) => m.rtt_data_ab)! as Record<string, Record<string, unknown> & { sketch: { keys: number[]; counts: number[] } }>;
    const [row] = await q(`SELECT rtt_data_ab_count::text c, rtt_data_ab_p95_ns p, tcp_ab_data_segments::text seg, host(addr_a) a, window_start
      FROM flow_metrics WHERE flow_key = $1 AND observation_point = $2 AND window_start = to_timestamp($3::bigint / 1e9)`,
    fm.flow_key, fm.observation_point, String(fm.window_start_ns));
    assert.equal(row.c, String(fm.rtt_data_ab.count));
    assert.equal(row.p, fm.rtt_data_ab.p95_ns);
    assert.equal(row.seg, String((fm.tcp_ab as Record<string, unknown>).data_segments));
    assert.equal(row.a, fm.addr_a);
    const sumBins = await q(`SELECT sum(count) s FROM rtt_sketch_bins WHERE flow_key = $1 AND observation_point = $2 AND window_start = $3 AND kind = 'data_ab' AND bin <> $4`,
      fm.flow_key, fm.observation_point, row.window_start, ZERO_BIN);
    assert.equal(Number(sumBins[0].s), fm.rtt_data_ab.sketch.counts.reduce((a, b) => a + b, 0));
    const dns = await q(`SELECT count(*)::int n FROM l7_events WHERE observation_point LIKE $1 AND dns_qname IS NOT NULL`, `${RUN}%`);
    assert.ok(dns[0].n > 0, 'DNS names flattened into dns_qname');
    const [al] = await q('SELECT state, severity, value, evidence, host(addr_a) a FROM alerts WHERE id LIKE $1', `${RUN}%`);
    assert.deepEqual([al.state, al.severity, al.value, al.evidence.sample], ['resolved', 'warning', 120, 'x"y'], 'the latest state (resolved) wins');
    const who = await q(`SELECT vm_id FROM vm_inventory_history WHERE ips @> ARRAY[$1::inet] AND vm_id LIKE $2
      AND valid_from <= to_timestamp($3::bigint / 1e9) AND (valid_to IS NULL OR valid_to > to_timestamp($3::bigint / 1e9))`,
    '2001:db8::5', `${RUN}%`, String(records.get('vm_inventory')![2].valid_from_ns as bigint + 1_000_000_000n));
    assert.deepEqual(who.map((r) => r.vm_id), [`${RUN}-db`], 'which VM held an IP at a time: one query');

    // The dashboard's columns survive every later state, and an old state never comes back.
    await s.pool.query('UPDATE alerts SET acked_by = $2, acked_at = now() WHERE id LIKE $1', [`${RUN}%`, 'alice']);
    const second = await sinkRun(`${RUN}-b`); // replays every topic from the start, the alerts' old states included
    assert.equal(second.metrics.totals.sent, first.metrics.totals.sent);
    const [acked] = await q('SELECT acked_by, state FROM alerts WHERE id LIKE $1', `${RUN}%`);
    assert.deepEqual([acked.acked_by, acked.state], ['alice', 'resolved']);
    await s.pool.query('UPDATE alerts SET acked_by = NULL, acked_at = NULL WHERE id LIKE $1', [`${RUN}%`]);
    assert.deepEqual(await dump(s.pool), d1, 'a replay of the same offsets leaves every table as it was');
  });
});

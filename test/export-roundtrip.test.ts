/**
 * The Arrow export end to end on real services: flow_windows filled by a real capture through
 * Kafka, the aggregate stage and the sink; more tables (doubles, jsonb, arrays, a view and a
 * continuous aggregate) filled by real stage records through the sink; a table of edge-case
 * values. Each is exported through the CLI's function (file and stream formats) or the HTTP
 * endpoint, read back with apache-arrow and compared row for row, type for type with SQL.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordBatchReader, Table, tableFromIPC, type RecordBatch } from 'apache-arrow';
import { testConfig, testServices } from './support/services';
import { assertEqualsSql } from './export-compare';
import { ensurePipelineTopics, type Services } from '../cli/services';
import { replayFile } from '../pipelines/replay';
import { DEMO_FILE } from '../cli/demo/run-demo';
import { runExport } from '../cli/commands/export';
import { startExportServer, type ExportServer } from '../lib/export/http';
import { ARROW_STREAM_MIME } from '../lib/export';
import { TimescaleSink, TABLE_SPECS } from '../pipelines/sinks/timescale';
import { sampleRecords } from '../pipelines/sinks/timescale/tables/fixtures';
import { AvroCodec } from '../schemas';

const RUN = `export${process.pid}x${Date.now()}`;
const PROBE = `export_probe_${process.pid}`;
const FAR = { from: '1970-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };

async function viaHttp(server: ExportServer, table: string, params: Record<string, string>): Promise<{ table: Table; res: Response; batches: number }> {
  const res = await fetch(`${server.url}/api/v1/export/${encodeURIComponent(table)}?${new URLSearchParams(params)}`);
  assert.equal(res.status, 200, `${table}: ${res.status} ${res.status === 200 ? '' : await res.text()}`);
  // Read it as a stream, batch by batch, the way a notebook client would.
  const reader = await RecordBatchReader.from(res.body as unknown as AsyncIterable<Uint8Array>);
  const batches: RecordBatch[] = [];
  for await (const b of reader) batches.push(b);
  await reader.open(); // the schema, also when there was no batch
  return { table: new Table(reader.schema, batches), res, batches: batches.length };
}

/** Real stage records (fixtures made by the real stages from real captures) through Kafka and the sink. */
async function sinkSampleRecords(s: Services): Promise<void> {
  const records = await sampleRecords(RUN);
  const topics: Record<string, string> = {};
  await s.kafka.ensureTopics([...TABLE_SPECS.map((spec) => ({ topic: `${RUN}.${spec.name}`, partitions: 1 })), { topic: `${RUN}.dlq`, partitions: 1 }]);
  const prod = s.kafka.producer();
  for (const spec of TABLE_SPECS) {
    const codec = new AvroCodec(spec.schema);
    topics[spec.name] = `${RUN}.${spec.name}`;
    await prod.send(topics[spec.name], (records.get(spec.name) ?? []).map((r) => ({ key: null, value: codec.encode(r) })));
  }
  await prod.close();
  const sink = new TimescaleSink({ topics, deadLetterTopic: `${RUN}.dlq`, groupId: `${RUN}-sink`, batchSize: 50 }, { kafka: s.kafka, pool: s.pool, bounded: true });
  try { await sink.start(); await sink.done(); } finally { await sink.close(); }
  assert.equal(sink.metrics.totals.dropped, 0, 'the sink dead-lettered nothing');
}

/** Edge cases the real tables lack: a column of every mapped type, NULLs, NaN, infinities, 30 rows at one timestamp. */
async function createProbeTable(s: Services): Promise<void> {
  await s.pool.query(`DROP TABLE IF EXISTS ${PROBE}; DROP TYPE IF EXISTS ${PROBE}_mood;
    CREATE TYPE ${PROBE}_mood AS ENUM ('calm', 'busy');
    CREATE TABLE ${PROBE} (id integer NOT NULL, noted timestamptz, ts timestamptz NOT NULL, local_ts timestamp, day date,
      ratio numeric, f4 real, f8 double precision, ok boolean, mood ${PROBE}_mood, addr inet, net cidr, mac macaddr, uid uuid,
      doc jsonb, raw json, note text, tags text[], addrs inet[], nums bigint[], flags boolean[], times timestamptz[], weights double precision[],
      PRIMARY KEY (ts, id));
    SELECT create_hypertable('${PROBE}', by_range('ts', INTERVAL '1 day'));`);
  await s.pool.query(`INSERT INTO ${PROBE}
    SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE '1999-12-31 23:59:59.999999+00'::timestamptz + i * interval '1 microsecond' END,
      CASE WHEN i < 30 THEN '2026-11-28 12:00:00.000001+00'::timestamptz ELSE '2026-11-28 12:00:00+00'::timestamptz + i * interval '1.000003 s' END,
      '2026-11-28 12:00:00'::timestamp + i * interval '1 hour', DATE '1969-12-31' + i * 400,
      CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN 'NaN' ELSE (i * 1234567.891)::numeric END,
      CASE WHEN i % 7 = 0 THEN 'Infinity'::real ELSE i / 3.0 END, CASE i % 6 WHEN 0 THEN '-Infinity' WHEN 1 THEN 'NaN' ELSE i * 0.1 END,
      CASE i % 3 WHEN 0 THEN NULL ELSE i % 2 = 0 END, CASE WHEN i % 2 = 0 THEN 'calm' ELSE 'busy' END::${PROBE}_mood,
      CASE WHEN i % 3 = 0 THEN ('2001:db8::' || to_hex(i))::inet WHEN i % 3 = 1 THEN ('10.0.' || i || '.1/24')::inet ELSE ('192.168.0.' || i)::inet END,
      ('10.' || i || '.0.0/16')::cidr, ('08:00:2b:01:02:' || lpad(to_hex(i), 2, '0'))::macaddr, md5(i::text)::uuid,
      jsonb_build_object('i', i, 'q', 'quote " and \\ and ü', 'arr', jsonb_build_array(1, 2.5, NULL)), ('{"b": ' || i || ', "a": 1}')::json,
      CASE WHEN i % 8 = 0 THEN NULL WHEN i % 8 = 1 THEN '' ELSE 'ümlaut ✓ 日本 ' || i || E'\\n,{"x"}' END,
      CASE WHEN i % 5 = 0 THEN NULL WHEN i % 5 = 1 THEN ARRAY[]::text[] ELSE ARRAY['a' || i, NULL, 'c,{}"'] END,
      ARRAY[('10.9.9.' || i)::inet, '::1'::inet], ARRAY[i::bigint, -9007199254740991, NULL], ARRAY[true, NULL, false],
      ARRAY['2026-01-01 00:00:00.000001+00'::timestamptz + i * interval '1 s', NULL], CASE WHEN i % 2 = 0 THEN ARRAY[i * 0.5, -0.0] ELSE NULL END
    FROM generate_series(0, 59) i`);
}

describe('export round trip @integration', function () {
  this.timeout(900_000);
  let s: Services;
  let server: ExportServer;
  let tmp: string;
  const op = `export:bro-org:${RUN}`;
  let range: { from: string; to: string };

  before(async () => {
    s = await testServices();
    const cfg = testConfig();
    await ensurePipelineTopics(cfg, s.kafka);
    const r = await replayFile(cfg, s.kafka, s.pool, DEMO_FILE, { observationPoint: op });
    assert.ok(r.rowsWritten > 10, `the capture made flow windows (${r.rowsWritten})`);
    const b = await s.pool.query(`SELECT to_char(min(window_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') lo,
      to_char((max(window_start) + interval '1 microsecond') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') hi FROM flow_windows WHERE observation_point = $1`, [op]);
    range = { from: b.rows[0].lo, to: b.rows[0].hi };
    await sinkSampleRecords(s);
    await createProbeTable(s);
    server = await startExportServer(s.pool, { port: 0, batchRows: 7 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-export-'));
  });

  after(async () => {
    await server?.close();
    await s?.pool.query(`DROP TABLE IF EXISTS ${PROBE}; DROP TYPE IF EXISTS ${PROBE}_mood`).catch(() => undefined);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('flow_windows of a real capture, through the CLI function in file and stream format, equals SQL row for row', async () => {
    const spec = { table: 'flow_windows', timeColumn: 'window_start', ...range, orderBy: 'window_start, flow_key, observation_point' };
    for (const [format, batchRows] of [['file', 5], ['stream', 50_000]] as const) {
      const out = path.join(tmp, `fw.${format}`);
      const res = await runExport(s.pool, { table: 'flow_windows', from: range.from, to: range.to, out, format, batchRows });
      const bytes = fs.readFileSync(out);
      assert.equal(bytes.subarray(0, 6).toString('latin1') === 'ARROW1', format === 'file', `${format}: the file format starts with its magic, the stream format not`);
      const t = tableFromIPC(bytes);
      const n = await assertEqualsSql(s.pool, t, spec);
      assert.ok(n >= 20, `${n} rows`);
      assert.equal(res.rows, n);
      assert.equal(t.batches.length, Math.ceil(n / batchRows), `${format}: one record batch per ${batchRows} rows`);
      assert.equal(t.schema.metadata.get('tapline.time_column'), 'window_start');
      assert.equal(t.schema.fields.find((f) => f.name === 'packets_ab')!.metadata.get('pg_type'), 'bigint');
      assert.equal(t.schema.fields.find((f) => f.name === 'window_start')!.nullable, false, 'NOT NULL columns are non-nullable fields');
    }
    // A projection, in the asked order, still paged on window_start.
    const out = path.join(tmp, 'cols.arrows');
    await runExport(s.pool, { table: 'flow_windows', ...range, out, columns: ['bytes_ab', 'addr_a', 'first_seen'], batchRows: 3 });
    const t = tableFromIPC(fs.readFileSync(out));
    assert.deepEqual(t.schema.fields.map((f) => f.name), ['bytes_ab', 'addr_a', 'first_seen']);
    await assertEqualsSql(s.pool, t, spec);
  });

  it('tables with doubles, jsonb and arrays, a view and a continuous aggregate, over HTTP, equal SQL row for row', async () => {
    const cases = [
      { table: 'alerts', timeColumn: 'first_seen', orderBy: 'first_seen, id' },
      { table: 'vm_inventory', timeColumn: 'valid_from', orderBy: 'valid_from, vm_id' },
      { table: 'probe_results', timeColumn: 'interval_start', orderBy: 'interval_start, prober, target, kind' },
      { table: 'l7_events', timeColumn: 'ts', orderBy: null },
      { table: 'vm_inventory_history', timeColumn: 'valid_from', orderBy: null },
      { table: 'traffic_pair_1m', timeColumn: 'bucket', orderBy: null },
    ];
    for (const c of cases) {
      // Tables without a primary key (views) are ordered by time, then every column; l7_events by its key.
      const cols = await s.pool.query<{ attname: string; t: string }>(`SELECT attname, format_type(atttypid, atttypmod) t FROM pg_attribute
        WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [c.table]);
      const pk = await s.pool.query<{ k: string }>(`SELECT a.attname k FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY u(n, o)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.n WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY u.o`, [c.table]);
      const orderBy = c.orderBy ?? [c.timeColumn, ...(pk.rows.length ? pk.rows.map((r) => r.k) : cols.rows.map((r) => r.attname)).filter((k) => k !== c.timeColumn)]
        .map((k) => `"${k}"`).join(', ');
      const { table, batches } = await viaHttp(server, c.table, FAR);
      const n = await assertEqualsSql(s.pool, table, { ...c, ...FAR, orderBy });
      assert.ok(n > 0, `${c.table} has rows`);
      assert.equal(batches, Math.ceil(n / 7), `${c.table}: batches of 7 rows`);
      assert.equal(table.schema.metadata.get('tapline.time_column'), c.timeColumn, `${c.table}: time column detected`);
    }
    const { table } = await viaHttp(server, 'alerts', FAR);
    const ev = table.getChild('evidence')!;
    assert.equal(JSON.parse(ev.get(0) as string).constructor, Object, 'jsonb arrives as JSON text');
  });

  it('edge-case values of every mapped type, paging inside one timestamp, NULLs, NaN and infinities', async () => {
    const spec = { table: PROBE, timeColumn: 'ts', ...FAR, orderBy: 'ts, id' };
    const { table, batches } = await viaHttp(server, PROBE, FAR);
    assert.equal(await assertEqualsSql(s.pool, table, spec), 60);
    assert.equal(batches, 9, '30 rows at one timestamp and 30 more, 7 per batch');
    assert.equal(table.schema.metadata.get('tapline.time_column'), 'ts', 'the hypertable dimension, not the first timestamp column');
    const out = path.join(tmp, 'probe.arrow');
    await runExport(s.pool, { table: PROBE, out, from: '2026-11-28T12:00:00.000001Z', to: '2026-11-28T12:00:40Z', batchRows: 4 });
    assert.equal(await assertEqualsSql(s.pool, tableFromIPC(fs.readFileSync(out)), { ...spec, from: '2026-11-28T12:00:00.000001Z', to: '2026-11-28T12:00:40Z' }), 40,
      'from is inclusive to the microsecond, to exclusive');
    // Another timestamp column as the range.
    const other = await viaHttp(server, PROBE, { time_column: 'noted', from: '2000-01-01T00:00:00.000010Z', to: '2000-01-01T00:00:00.000030Z', columns: 'id,noted' });
    assert.deepEqual([...other.table.getChild('id')!], [11, 13, 14, 15, 17, 18, 19, 21, 22, 23, 25, 26, 27, 29, 30]);
  });

  it('streams as application/vnd.apache.arrow.stream, chunked, batch by batch; an empty range is a valid empty table', async () => {
    const res = await fetch(`${server.url}/api/v1/export/flow_windows?${new URLSearchParams(range)}`);
    assert.equal(res.headers.get('content-type'), ARROW_STREAM_MIME);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked', 'streamed, not buffered into one body');
    assert.equal(res.headers.get('content-length'), null);
    await res.arrayBuffer();
    const empty = await viaHttp(server, 'flow_windows', { from: '1971-01-01T00:00:00Z', to: '1971-01-01T00:00:00Z' });
    assert.equal(empty.table.numRows, 0);
    assert.equal(empty.table.schema.fields.length, 21, 'the schema is there even without rows');
    const file = await fetch(`${server.url}/api/v1/export/flow_windows?${new URLSearchParams({ ...range, format: 'file' })}`);
    const t = tableFromIPC(new Uint8Array(await file.arrayBuffer()));
    await assertEqualsSql(s.pool, t, { table: 'flow_windows', timeColumn: 'window_start', ...range, orderBy: 'window_start, flow_key, observation_point' });
  });
});

/**
 * TimescaleDB sink throughput: flow-window rows/s written by the real sink (Kafka -> decode ->
 * rows -> INSERT ... SELECT FROM unnest, the upsert where a key exists) against a raw bulk load
 * of the same rows into the same database, measured in the same run. A last embedded run replays
 * the same records into the full table: every key exists, so that is the sink's upsert path.
 *
 *   npm run bench:sink [-- --rows 200000] [-- --reps 3] [-- --pg postgres://postgres@127.0.0.1:5432/postgres]
 *
 * References:
 * - embedded TimescaleDB (PGlite): a raw `INSERT ... SELECT * FROM unnest(...)` of the prebuilt
 *   column arrays (no Kafka, no decoding, no ON CONFLICT), because `COPY FROM STDIN` kills the
 *   embedded server (docs/timescaledb-embedded.md). Target: sink >= 0.8x.
 * - PostgreSQL server (--pg, default the local PostgreSQL 15; no timescaledb there, so a plain
 *   table of the same columns): a true `COPY ... FROM STDIN` (pg-copy-streams) of the prebuilt
 *   CSV, and the same raw unnest insert; the sink writes the same table (migrations off).
 * Building the reference's arrays/CSV is not timed: the references are the database's ceiling.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig } from '../lib/config';
import { startServices, type Services } from '../cli/services';
import { AvroCodec } from '../schemas';
import type { FlowWindow } from '../schemas/types';
import { sqlType } from '../lib/db/avro-columns';
import { TimescaleSink, migrateSinkSchema } from '../pipelines/sinks/timescale';
import { rowsOf } from '../pipelines/sinks/timescale/sink';
import { BatchWriter, unnestUpsertSql } from '../pipelines/sinks/timescale/batch-writer';
import { flowWindows } from '../pipelines/sinks/timescale/tables/flow-windows';
import { syntheticFlowWindows } from '../pipelines/sinks/timescale/tables/fixtures';
import { Completion } from '../pipelines/runtime/bounded';

const arg = (n: string, d: string) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1] : d; };
const ROWS = Number(arg('rows', '200000'));
const PG_URL = arg('pg', 'postgres://postgres@127.0.0.1:5432/postgres');
const CHUNK = 2000;
/** Runs of each kind, alternated; the best counts (the embedded database's own speed varies by +-15% from run to run). */
const REPS = Number(arg('reps', '3'));
const target = flowWindows.targets[0];
const cols = target.columns;
const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** The same rows the sink writes, as column arrays (untimed). */
function columnArrays(windows: FlowWindow[]): unknown[][][] {
  const chunks: unknown[][][] = [];
  for (let i = 0; i < windows.length; i += CHUNK) {
    const part = windows.slice(i, i + CHUNK);
    const arrays: unknown[][] = cols.map(() => new Array(part.length));
    part.forEach((w, r) => flowWindows.rows(w as never, { raw: Buffer.alloc(0), repeat: 0 }, (_t, row) => { row.forEach((v, c) => { arrays[c][r] = v; }); }));
    chunks.push(arrays);
  }
  return chunks;
}

async function rawUnnest(pool: pg.Pool, table: string, chunks: unknown[][][], upsert = false): Promise<number> {
  const sql = upsert ? unnestUpsertSql(target)
    : `INSERT INTO ${table} (${cols.map((c) => `"${c.name}"`).join(',')}) SELECT * FROM unnest(${cols.map((c, i) => `$${i + 1}::${sqlType(c.pgType)}[]`).join(',')})`;
  const t0 = process.hrtime.bigint();
  for (const arrays of chunks) await pool.query(sql, arrays);
  return ROWS / secs(t0);
}

async function rawCopy(pool: pg.Pool, table: string, csv: Buffer): Promise<number> {
  const client = await pool.connect();
  try {
    const t0 = process.hrtime.bigint();
    await pipeline(Readable.from([csv]), client.query(copyFrom(`COPY ${table} (${cols.map((c) => `"${c.name}"`).join(',')}) FROM STDIN WITH (FORMAT csv)`)));
    return ROWS / secs(t0);
  } finally {
    client.release();
  }
}

/** Per sink run, rows/s after the consumer group join (see viaSink). */
const steady = { emb: [] as number[], pg: [] as number[] };

async function viaSink(s: Services, pool: pg.Pool, topic: string, run: string, migrate: boolean, into: number[]): Promise<number> {
  const sink = new TimescaleSink({ tables: ['flow_windows'], topics: { flow_windows: topic }, deadLetterTopic: `${topic}.dlq`, groupId: run, batchSize: CHUNK },
    { kafka: s.kafka, pool, bounded: true, migrate });
  const t0 = process.hrtime.bigint();
  // When the first slice is decoded: the consumer group join before it is a start-up cost, paid
  // once per sink process, not per row. The steady rate counts only the rows received after
  // that moment (conservative: the first slice is written after it but not counted).
  let first: { at: bigint; received: number } | null = null;
  const probe = setInterval(() => { const n = sink.metrics.totals.received; if (first === null && n > 0) first = { at: process.hrtime.bigint(), received: n }; }, 5);
  try { await sink.start(); await sink.done(); } finally { clearInterval(probe); await sink.close(); }
  const end = process.hrtime.bigint();
  const rate = ROWS / secs(t0);
  const f = first as { at: bigint; received: number } | null;
  const after = f ? (ROWS - f.received) / (Number(end - f.at) / 1e9) : rate;
  into.push(after);
  console.log(`  sink ${run}: ${fmt(rate)} including start-up; first records after ${f ? (Number(f.at - t0) / 1e6).toFixed(0) : '-'} ms; ${fmt(after)} after them; `
    + `${sink.writerConflicts} transactions met existing keys`);
  if (sink.metrics.totals.sent !== ROWS) throw new Error(`sink wrote ${sink.metrics.totals.sent} of ${ROWS} records`);
  return rate;
}

/**
 * The sink's own CPU per row, no Kafka and no database: Avro decode, rows into column arrays,
 * array parameters (what BatchWriter.prepare sends). Best of 5 passes over the same messages.
 */
function clientWork(values: Buffer[]): number {
  const codec = new AvroCodec<Record<string, unknown>>(flowWindows.schema);
  const writer = new BatchWriter(null as never, flowWindows.targets, { chunkSize: CHUNK }); // prepare() never touches the pool
  let best = Infinity;
  for (let pass = 0; pass < 5; pass++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < values.length; i += 2 * CHUNK) {
      const batch = writer.batch<number>();
      for (let j = i; j < Math.min(values.length, i + 2 * CHUNK); j++) {
        batch.add(j, rowsOf(flowWindows, codec.decode(values[j]), values[j], 0));
      }
      writer.prepare(batch, () => { throw new Error('not written'); });
    }
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3 / values.length);
  }
  return best;
}

/** Kafka fetch + Avro decode only, no database: the most any sink on this consumer can do. */
async function consumeOnly(s: Services, topic: string): Promise<number> {
  const codec = new AvroCodec<FlowWindow>('flow-window.v1');
  const remaining = new Map([...(await s.kafka.endOffsets(topic))].filter(([, e]) => e > 0n));
  const done = new Completion();
  let n = 0;
  const c = s.kafka.consumer(`bench-consume-${Date.now()}`);
  const t0 = process.hrtime.bigint();
  c.run([topic], async (b) => { for (const m of b.messages) { codec.decode(m.value!); n++; } }, {
    onProgress: (_t, p, next) => { if (next >= (remaining.get(p) ?? 0n)) remaining.delete(p); if (remaining.size === 0) done.resolve(); },
  }).catch((e: Error) => done.reject(e));
  await done.promise;
  const rate = n / secs(t0);
  await c.close();
  return rate;
}

const fmt = (r: number) => `${Math.round(r).toLocaleString('en-US')} rows/s`;
const best = (xs: number[]) => Math.max(...xs);

async function main(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-bench-sink-'));
  const cfg = loadConfig(undefined, {}, { stateDir, 'kafka.embeddedPort': 19692, 'timescale.embeddedPort': 15833, 'metrics.port': 0 });
  const s = await startServices(cfg);
  const run = `bench-sink-${Date.now()}`;
  const topic = `${run}.flows.v1`;
  try {
    const windows = syntheticFlowWindows(run, ROWS);
    await s.kafka.ensureTopics([{ topic, partitions: 4 }, { topic: `${topic}.dlq`, partitions: 1 }]);
    const codec = new AvroCodec<FlowWindow>('flow-window.v1');
    const prod = s.kafka.producer();
    for (let i = 0; i < ROWS; i += 10_000) await prod.send(topic, windows.slice(i, i + 10_000).map((w) => ({ key: w.flow_key, value: codec.encode(w) })));
    await prod.close();
    // The references' column arrays are built before each reference run and dropped after it, so
    // that the sink's runs share their process with no benchmark data (their heap is what a
    // deployed sink's would be: the garbage collector's work grows with what else is live).
    windows.length = 0;
    const chunks = () => columnArrays(syntheticFlowWindows(run, ROWS));
    console.log(`${ROWS} flow windows on ${topic} (4 partitions); statements of ${CHUNK} rows`);
    console.log(`Kafka consume + Avro decode only (no database, the sink's ceiling): ${fmt(await consumeOnly(s, topic))}`);
    const encoded = syntheticFlowWindows(run, ROWS).map((w) => codec.encode(w));
    console.log(`sink client work (Avro decode, rows into columns, array parameters; no Kafka, no database): ${clientWork(encoded).toFixed(2)} us/row`);
    encoded.length = 0;

    // Embedded TimescaleDB: flow_windows hypertable, emptied before every run; alternate runs.
    await migrateSinkSchema(s.pool);
    const emb = { sink: [] as number[], unnest: [] as number[], upsert: [] as number[] };
    // The order rotates from rep to rep, so that no kind always runs first (the machine's and the
    // database's speed drift during a run).
    const kinds: [keyof typeof emb, () => Promise<number>][] = [
      ['unnest', () => rawUnnest(s.pool, 'flow_windows', chunks())],
      ['sink', () => viaSink(s, s.pool, topic, `${run}-emb-${emb.sink.length}`, false, steady.emb)],
      ['upsert', () => rawUnnest(s.pool, 'flow_windows', chunks(), true)],
    ];
    for (let rep = 0; rep < REPS; rep++) {
      for (let k = 0; k < kinds.length; k++) {
        const [kind, measure] = kinds[(rep + k) % kinds.length];
        await s.pool.query('TRUNCATE flow_windows');
        emb[kind].push(await measure());
      }
      console.log(`embedded run ${rep + 1}: raw unnest ${fmt(emb.unnest[rep])}, sink ${fmt(emb.sink[rep])}, raw unnest with the sink's ON CONFLICT DO UPDATE ${fmt(emb.upsert[rep])}`);
    }
    // Every record's key is in the table now (each kind writes the same rows): a replay.
    const replay = await viaSink(s, s.pool, topic, `${run}-emb-replay`, false, []);
    await s.pool.query('TRUNCATE flow_windows');
    console.log(`EMBEDDED TimescaleDB: sink ${fmt(best(emb.sink))} vs raw INSERT ... SELECT unnest ${fmt(best(emb.unnest))} (best of ${REPS} each): ratio ${(best(emb.sink) / best(emb.unnest)).toFixed(2)}x (target >= 0.8x); `
      + `vs the same upsert SQL sent raw ${fmt(best(emb.upsert))}: ratio ${(best(emb.sink) / best(emb.upsert)).toFixed(2)}x`);
    console.log(`  without the consumer group join (rows after the first decoded slice): sink ${fmt(best(steady.emb))}: ratio ${(best(steady.emb) / best(emb.unnest)).toFixed(2)}x vs raw unnest, `
      + `${(best(steady.emb) / best(emb.upsert)).toFixed(2)}x vs the same upsert SQL`);
    console.log(`  a replay into the full table (every row an update, upserts after the first conflict; the references above insert into an empty table): sink ${fmt(replay)}`);

    // PostgreSQL server: a plain table with the same columns in a schema of its own.
    const schema = `tapline_bench_${process.pid}`;
    const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
    let pool: pg.Pool | null = null;
    try {
      await admin.query(`CREATE SCHEMA ${schema}`);
      pool = new pg.Pool({ connectionString: PG_URL, max: 1, options: `-c search_path=${schema}` });
      await pool.query(`CREATE TABLE flow_windows (${cols.map((c) => `"${c.name}" ${sqlType(c.pgType)} NOT NULL`).join(', ')}, PRIMARY KEY (${target.conflictKey.join(', ')}))`);
      const csv = () => Buffer.from(chunks().flatMap((a) => a[0].map((_, r) => cols.map((__, c) => String(a[c][r])).join(','))).join('\n') + '\n');
      const srv = { sink: [] as number[], copy: [] as number[], unnest: [] as number[] };
      for (let rep = 0; rep < REPS; rep++) {
        await pool.query('TRUNCATE flow_windows'); srv.copy.push(await rawCopy(pool, 'flow_windows', csv()));
        await pool.query('TRUNCATE flow_windows'); srv.unnest.push(await rawUnnest(pool, 'flow_windows', chunks()));
        await pool.query('TRUNCATE flow_windows'); srv.sink.push(await viaSink(s, pool, topic, `${run}-pg-${rep}`, false, steady.pg));
        console.log(`${PG_URL} run ${rep + 1}: COPY FROM STDIN ${fmt(srv.copy[rep])}, raw unnest ${fmt(srv.unnest[rep])}, sink ${fmt(srv.sink[rep])}`);
      }
      const v = (await pool.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
      console.log(`PostgreSQL ${v} (plain table): sink ${fmt(best(srv.sink))} vs COPY FROM STDIN ${fmt(best(srv.copy))}: ratio ${(best(srv.sink) / best(srv.copy)).toFixed(2)}x; `
        + `vs raw unnest ${fmt(best(srv.unnest))}: ratio ${(best(srv.sink) / best(srv.unnest)).toFixed(2)}x; without the group join: sink ${fmt(best(steady.pg))}`);
    } catch (e) {
      console.log(`PostgreSQL server at ${PG_URL}: not measured (${(e as Error).message})`);
    } finally {
      await pool?.end().catch(() => undefined);
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await admin.end().catch(() => undefined);
    }
  } finally {
    await s.stopStarted();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });

/**
 * The sink's batch writer on the embedded TimescaleDB: a plain insert first, the upsert when a
 * key already exists (a replay, a window emitted again). Whatever path a transaction takes, the
 * table must end up as if every row had been upserted, and a refused record is still isolated.
 */
import assert from 'node:assert/strict';
import { testServices } from './support/services';
import { BatchWriter, UPSERT_AFTER_CONFLICT } from '../pipelines/sinks/timescale/batch-writer';
import type { ColumnDef } from '../lib/db/avro-columns';
import type { Target } from '../pipelines/sinks/timescale/tables/types';

const TABLE = `sinkwriter_${process.pid}_${Date.now()}`;
const col = (name: string, pgType: string): ColumnDef => ({ name, pgType, nullable: true, path: [name], conv: 'text' });
const TS = '2026-11-29T00:00:00.000000Z';

type Row = [string, number | string];
const records = (rows: Row[]) => rows.map(([k, v]) => ({ ref: k, rows: [[0, [k, TS, v]]] as [number, unknown[]][] }));

describe('sink batch writer @integration', function () {
  this.timeout(120_000);

  it('inserts plainly, upserts after meeting an existing key, and the table is the same as with upserts only', async () => {
    const { pool } = await testServices();
    await pool.query(`CREATE TABLE ${TABLE} (k text NOT NULL, ts timestamptz NOT NULL, v bigint, PRIMARY KEY (k, ts))`);
    try {
      const target: Target = { table: TABLE, columns: [col('k', 'text'), col('ts', 'timestamp with time zone'), col('v', 'bigint')], conflictKey: ['k', 'ts'] };
      const w = new BatchWriter(pool, [target], { chunkSize: 2 });
      const table = async () => (await pool.query<{ k: string; v: string }>(`SELECT k, v::text FROM ${TABLE} ORDER BY k`)).rows.map((r) => `${r.k}=${r.v}`);

      assert.deepEqual(await w.write(records([['a', 1], ['b', 2], ['c', 3]])), []);
      assert.equal(w.conflicts, 0, 'new keys: the plain insert succeeded');

      // b exists: the plain insert fails on it, rolls back (a and d are not half-written), and
      // the transaction is written again as an upsert
      assert.deepEqual(await w.write(records([['a0', 0], ['b', 20], ['d', 4]])), []);
      assert.equal(w.conflicts, 1);
      assert.deepEqual(await table(), ['a=1', 'a0=0', 'b=20', 'c=3', 'd=4']);

      // the next transactions upsert directly: existing keys cost no second failed attempt
      for (let i = 0; i < UPSERT_AFTER_CONFLICT; i++) assert.deepEqual(await w.write(records([['c', 30 + i]])), []);
      assert.equal(w.conflicts, 1, 'no plain attempt while in upsert mode');
      assert.deepEqual(await table(), ['a=1', 'a0=0', 'b=20', `c=${30 + UPSERT_AFTER_CONFLICT - 1}`, 'd=4']);

      // then plain inserts again; a conflict together with a refused value: the upsert is
      // refused too, and the search finds the one bad record while the rest is upserted
      assert.deepEqual(await w.write(records([['e', 5]])), []);
      assert.equal(w.conflicts, 1);
      const rejected = await w.write(records([['a', 10], ['g', 7], ['f', 'not a number']]));
      assert.equal(w.conflicts, 2);
      assert.deepEqual(rejected.map((r) => [r.ref, r.sqlState]), [['f', '22P02']]);
      assert.deepEqual(await table(), ['a=10', 'a0=0', 'b=20', `c=${30 + UPSERT_AFTER_CONFLICT - 1}`, 'd=4', 'e=5', 'g=7']);

      // DO NOTHING targets keep the existing row after the fallback too
      const keep = new BatchWriter(pool, [{ ...target, onConflict: 'nothing' }], { chunkSize: 10 });
      assert.deepEqual(await keep.write(records([['a', 99], ['h', 8]])), []);
      assert.equal(keep.conflicts, 1);
      assert.deepEqual((await table()).filter((r) => /^[ah]=/.test(r)), ['a=10', 'h=8']);
    } finally {
      await pool.query(`DROP TABLE ${TABLE}`);
    }
  });
});

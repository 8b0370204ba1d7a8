/**
 * Review tests: records the database refuses for a reason outside SQLSTATE classes 22/23/42
 * must still be isolated and returned for the dead-letter topic, not retried forever.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { testServices } from './support/services';
import { BatchWriter } from '../pipelines/sinks/timescale/batch-writer';
import type { ColumnDef } from '../lib/db/avro-columns';
import type { Target } from '../pipelines/sinks/timescale/tables/types';

const TABLE = `sinkpoison_${process.pid}_${Date.now()}`;
const col = (name: string, pgType: string): ColumnDef => ({ name, pgType, nullable: true, path: [name], conv: 'text' });
const TS = '2026-11-29T00:00:00.000000Z';

describe('sink batch writer: poison beyond data errors @integration', function () {
  this.timeout(60_000);

  it('dead-letters a record whose key is too large for the primary-key index (54000) instead of retrying forever', async () => {
    const { pool } = await testServices();
    await pool.query(`CREATE TABLE ${TABLE} (k text NOT NULL, ts timestamptz NOT NULL, v bigint, PRIMARY KEY (k, ts))`);
    try {
      const target: Target = { table: TABLE, columns: [col('k', 'text'), col('ts', 'timestamp with time zone'), col('v', 'bigint')], conflictKey: ['k', 'ts'] };
      const w = new BatchWriter(pool, [target], { chunkSize: 100, maxBackoffMs: 100 });
      const huge = crypto.randomBytes(6000).toString('hex'); // incompressible, > 2704 bytes
      const recs = [['a', 1], [huge, 2], ['b', 3]].map(([k, v]) => ({ ref: String(k).slice(0, 8), rows: [[0, [k, TS, v]]] as [number, unknown[]][] }));
      const timer = setTimeout(() => w.close(), 15_000); // the bug: retried as if the database were down
      let rejected;
      try { rejected = await w.write(recs); } finally { clearTimeout(timer); }
      assert.equal(w.retries, 0, 'not retried as a connection failure');
      assert.deepEqual(rejected.map((r) => [r.ref, r.sqlState]), [[huge.slice(0, 8), '54000']]);
      const rows = await pool.query<{ k: string }>(`SELECT k FROM ${TABLE} ORDER BY k`);
      assert.deepEqual(rows.rows.map((r) => r.k), ['a', 'b']);
    } finally {
      await pool.query(`DROP TABLE ${TABLE}`);
    }
  });
});

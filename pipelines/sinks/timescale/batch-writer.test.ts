import assert from 'node:assert/strict';
import type { ColumnDef } from '../../../lib/db/avro-columns';
import type { Pool } from 'pg';
import { BatchWriter, isDataError, unnestUpsertSql } from './batch-writer';
import { arrayLiteral } from './column-batch';

const col = (name: string, pgType: string): ColumnDef => ({ name, pgType, nullable: false, path: [name], conv: 'text' });

describe('timescale sink batch writer', () => {
  it('builds one upsert with one array parameter per column and updates only the non-key columns', () => {
    const sql = unnestUpsertSql({ table: 't', columns: [col('k', 'text'), col('ts', 'timestamp with time zone'), col('v', 'bigint')], conflictKey: ['k', 'ts'] });
    assert.equal(sql, 'INSERT INTO t ("k","ts","v") SELECT c0,c1,c2 FROM unnest($1::text[],$2::timestamptz[],$3::bigint[]) AS u(c0,c1,c2) '
      + 'ON CONFLICT ("k","ts") DO UPDATE SET "v" = EXCLUDED."v"');
  });

  it('treats data errors (SQLSTATE classes 22, 23, 42) as final and everything else as retryable', () => {
    for (const code of ['22P02', '23505', '42703']) assert.equal(isDataError(Object.assign(new Error(code), { code })), true, code);
    for (const code of ['57P01', '08006', 'ECONNREFUSED', '22']) assert.equal(isDataError(Object.assign(new Error(code), { code })), false, code);
    assert.equal(isDataError(new Error('no code')), false);
  });

  it('prepares statements of at most chunkSize rows, duplicates reduced to the last, parameters in the text pg would send', async () => {
    const target = { table: 't', columns: [col('k', 'text'), col('ts', 'timestamp with time zone'), col('v', 'bigint')], conflictKey: ['k', 'ts'] };
    const w = new BatchWriter(null as unknown as Pool, [target], { chunkSize: 2 }); // prepare() never touches the pool
    const rec = (k: string, v: string) => ({ ref: k + v, rows: [[0, [k, '2026-11-28T00:00:00.000000Z', v]]] as [number, unknown[]][] });
    const records = [rec('a', '1'), rec('b"q', '2'), rec('a', '3'), rec('c', '4')];
    const sync = w.prepare(records);
    const sliced = await w.prepareAsync(records);
    assert.deepEqual(sliced.statements, sync.statements);
    assert.deepEqual(sync.statements.map((st) => st.params), [
      ['{"a","b\\"q"}', '{"2026-11-28T00:00:00.000000Z","2026-11-28T00:00:00.000000Z"}', '{"3","2"}'],
      ['{"c"}', '{"2026-11-28T00:00:00.000000Z"}', '{"4"}'],
    ]);
    assert.equal(sync.records(), records);
    assert.deepEqual(sync.added, [4]);
  });

  it('writes array literals as pg would: strings quoted and escaped, numbers and booleans bare, NULLs, buffers as hex', () => {
    const { prepareValue } = require('pg/lib/utils') as { prepareValue(v: unknown): unknown }; // eslint-disable-line @typescript-eslint/no-require-imports
    const values = ['a', 'b"q', 'c\\d', '', 'NULL', ' sp ', '{x,y}', 7, -1.5, 2n ** 60n, true, null, undefined, Buffer.from([0, 255]), NaN];
    const ours = arrayLiteral(values, 0, values.length);
    assert.equal(ours, '{"a","b\\"q","c\\\\d","","NULL"," sp ","{x,y}",7,-1.5,1152921504606846976,true,NULL,NULL,"\\\\x00ff",NaN}');
    // pg's own serialisation quotes every element; PostgreSQL reads both the same way
    assert.equal((prepareValue(values) as string).replace(/"(-?[\d.]+|true|NaN)"/g, '$1').replace('\\\\x00ff', '"\\\\x00ff"'), ours);
    assert.equal(arrayLiteral(values, 1, 3), '{"b\\"q","c\\\\d"}');
  });
});

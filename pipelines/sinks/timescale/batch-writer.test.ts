import assert from 'node:assert/strict';
import type { ColumnDef } from '../../../lib/db/avro-columns';
import { isDataError, unnestUpsertSql } from './batch-writer';

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
});

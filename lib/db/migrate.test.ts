/**
 * migrate() run by two processes at once (e.g. `tapline run` and `tapline serve` starting
 * together against one server). On the machine's PostgreSQL 15 (the one .ci/run starts): it has
 * real row locks, which is what the claim-first migration relies on. The embedded TimescaleDB is
 * one backend session for every connection, where concurrent transactions are not isolated at
 * all (docs/timescaledb-embedded.md): the CLI never migrates it from two pools at once.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { migrate, type Migration } from './migrate';
import { createPool } from './pool';

const ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';
const DB = `tapline_migrate_${process.pid}`;

describe('migrate() from two processes at once (PostgreSQL 15) @integration', function () {
  this.timeout(60_000);

  before(async () => {
    const c = new pg.Client(ADMIN);
    await c.connect();
    try { await c.query(`CREATE DATABASE ${DB}`); } finally { await c.end(); }
  });
  after(async () => {
    const c = new pg.Client(ADMIN);
    await c.connect();
    try { await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`); } finally { await c.end(); }
  });

  it('both succeed and apply each migration once', async () => {
    const url = `postgres://postgres@127.0.0.1:5432/${DB}`;
    const migrations: Migration[] = [
      // slow enough that the two runs overlap: the second must wait for the first's claim
      { version: 1, name: 'a', sql: 'SELECT pg_sleep(0.3); CREATE TABLE mig_a (x int)' },
      { version: 2, name: 'b', sql: 'CREATE TABLE mig_b (y int)' },
    ];
    const p1 = createPool(url, { embedded: false });
    const p2 = createPool(url, { embedded: false });
    try {
      const [a, b] = await Promise.all([migrate(p1, migrations), migrate(p2, migrations)]);
      assert.deepEqual([...a, ...b].sort(), [1, 2], 'each applied by exactly one of them');
      const rows = (await p1.query('SELECT version FROM tapline_migrations ORDER BY version')).rows;
      assert.deepEqual(rows, [{ version: 1 }, { version: 2 }]);
      assert.deepEqual(await migrate(p2, migrations), []);
    } finally {
      await p1.end();
      await p2.end();
    }
  });
});

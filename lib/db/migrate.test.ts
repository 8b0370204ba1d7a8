/** migrate() run by two processes at once (e.g. `tapline run` and `tapline serve` starting together). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EmbeddedTimescale } from '../services/timescale/embedded';
import { migrate, type Migration } from './migrate';
import { createPool } from './pool';

const PG_PORT = Number(process.env.TAPLINE_TEST_PG_PORT ?? 26333) + 2; // 26335

describe('migrate against the embedded TimescaleDB @integration', function () {
  this.timeout(120_000);
  let stateDir: string;
  let ts: EmbeddedTimescale;

  before(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-migrate-'));
    ts = new EmbeddedTimescale({ stateDir, port: PG_PORT });
    await ts.start();
  });
  after(async () => {
    await ts.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('two concurrent migrate() calls (two processes) both succeed and apply each migration once', async () => {
    const migrations: Migration[] = [
      { version: 1, name: 'a', sql: 'CREATE TABLE IF NOT EXISTS mig_a (x int)' },
      { version: 2, name: 'b', sql: 'CREATE TABLE IF NOT EXISTS mig_b (y int)' },
    ];
    const p1 = createPool(ts.url, { embedded: true });
    const p2 = createPool(ts.url, { embedded: true });
    try {
      const [a, b] = await Promise.all([migrate(p1, migrations), migrate(p2, migrations)]);
      assert.deepEqual([...a, ...b].sort(), [1, 2]);
      const rows = (await p1.query('SELECT version FROM tapline_migrations ORDER BY version')).rows;
      assert.deepEqual(rows, [{ version: 1 }, { version: 2 }]);
      assert.deepEqual(await migrate(p2, migrations), []);
    } finally {
      await p1.end();
      await p2.end();
    }
  });
});

/**
 * A private embedded TimescaleDB for tests that need a database of their own: storage-policy
 * tests drop chunks and the SQL docs test checks totals over "everything in the last days", so
 * neither may share tables with other test files. Started on a free port in a fresh directory,
 * migrated with every tapline migration; stop() removes it.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { createPool } from '../../lib/db/pool';
import { loadMigrations, migrate } from '../../lib/db/migrate';
import { EmbeddedTimescale } from '../../lib/services/timescale/embedded';
import { MIGRATIONS_DIR } from '../../pipelines/sinks/timescale';

export interface ScratchDb { pool: Pool; url: string; stop(): Promise<void> }

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startScratchDb(): Promise<ScratchDb> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-sqltest-'));
  const server = new EmbeddedTimescale({ stateDir, port: await freePort() });
  const { url } = await server.start();
  const pool = createPool(url, { embedded: true });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await pool.end().catch(() => undefined);
    await server.stop().catch(() => undefined);
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await migrate(pool, loadMigrations(MIGRATIONS_DIR));
  } catch (e) {
    await stop();
    throw e;
  }
  return { pool, url, stop };
}

/**
 * Versioned migrations: `NNN_name.sql` files applied in order, each in its own transaction and
 * recorded in tapline_migrations. Files are written to be idempotent too (IF NOT EXISTS), so a
 * half-applied database from an older tapline still converges.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';
import { logger } from '../log';

const log = logger('migrate');

export interface Migration { version: number; name: string; sql: string }

export function loadMigrations(dir: string): Migration[] {
  return fs.readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f.slice(4, -4), sql: fs.readFileSync(path.join(dir, f), 'utf8') }));
}

/** Applies the missing migrations; returns the versions applied now. */
export async function migrate(pool: Pool, migrations: Migration[]): Promise<number[]> {
  await pool.query(`CREATE TABLE IF NOT EXISTS tapline_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const done = new Set((await pool.query<{ version: number }>('SELECT version FROM tapline_migrations')).rows.map((r) => r.version));
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      // Claim the version first: a concurrent migrate() (another process) that got there first
      // makes this wait for its COMMIT and then insert nothing, so we skip instead of failing.
      const claimed = await client.query('INSERT INTO tapline_migrations (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING',
        [m.version, m.name]);
      if (claimed.rowCount === 0) {
        await client.query('ROLLBACK');
        continue;
      }
      await client.query(m.sql);
      await client.query('COMMIT');
      applied.push(m.version);
      log.info({ version: m.version, name: m.name }, 'migration applied');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new Error(`migration ${m.version}_${m.name} failed: ${(e as Error).message}`);
    } finally {
      client.release();
    }
  }
  return applied;
}

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

/** Key of the session-level advisory lock that serializes migrate() runs on one database ("tapl"). */
const MIGRATION_LOCK = 0x7461706c;

/**
 * Applies the missing migrations; returns the versions applied now. Two processes starting
 * together (`tapline run` and `tapline serve`) take turns: the first holds an advisory lock
 * while it migrates, the second then finds those versions done. One connection throughout, so
 * it also works with the embedded server's pool of one.
 */
export async function migrate(pool: Pool, migrations: Migration[]): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS tapline_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM tapline_migrations')).rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      try {
        await client.query('BEGIN');
        await client.query(m.sql);
        await client.query('INSERT INTO tapline_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
        applied.push(m.version);
        log.info({ version: m.version, name: m.name }, 'migration applied');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`migration ${m.version}_${m.name} failed: ${(e as Error).message}`);
      }
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}

/**
 * Installs the TimescaleDB policies the storage configuration asks for: retention per table or
 * aggregate, compression per hypertable, a refresh policy per continuous aggregate. Idempotent:
 * each policy is removed and added again with the configured values, so a changed configuration
 * takes effect at the next start. On a TimescaleDB server the policies then run by themselves;
 * the embedded server has no background workers, so lib/db/jobs.ts runs them.
 */
import type { Pool } from 'pg';
import { TaplineError, errorMessage } from '../errors';
import { pgInterval, resolveStorageConfig, type StorageConfig } from './storage-config';
import { StorageJobRunner, type JobRun } from './jobs';
import { createPool } from './pool';

export interface AppliedPolicies { retention: string[]; compression: string[]; refresh: string[] }

async function relationKind(pool: Pool, name: string): Promise<'hypertable' | 'cagg' | null> {
  const r = await pool.query<{ kind: string | null }>(
    `SELECT CASE WHEN EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates WHERE view_name = $1) THEN 'cagg'
                 WHEN EXISTS (SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = $1) THEN 'hypertable' END AS kind`, [name]);
  return (r.rows[0]?.kind as 'hypertable' | 'cagg' | null) ?? null;
}

async function run(pool: Pool, what: string, sql: string, params: unknown[]): Promise<void> {
  try {
    await pool.query(sql, params);
  } catch (e) {
    throw new TaplineError('DB_REJECTED', 'storage', `cannot set ${what}: ${errorMessage(e)}`, { cause: e });
  }
}

export async function applyStoragePolicies(pool: Pool, cfg: StorageConfig): Promise<AppliedPolicies> {
  const applied: AppliedPolicies = { retention: [], compression: [], refresh: [] };
  for (const [rel, keep] of Object.entries(cfg.retention)) {
    const kind = await relationKind(pool, rel);
    if (kind === null) {
      throw new TaplineError('CONFIG_INVALID', 'storage', `storage.retention.${rel}: no hypertable or continuous aggregate of that name in the database`);
    }
    await run(pool, `retention of ${rel}`, 'SELECT remove_retention_policy($1::regclass, if_exists => true)', [rel]);
    if (keep === null) continue;
    await run(pool, `retention of ${rel}`, 'SELECT add_retention_policy($1::regclass, drop_after => $2::interval)', [rel, pgInterval(keep)]);
    applied.retention.push(rel);
  }
  for (const [table, after] of Object.entries(cfg.compressAfter)) {
    if ((await relationKind(pool, table)) !== 'hypertable') {
      throw new TaplineError('CONFIG_INVALID', 'storage', `storage.compressAfter.${table}: no hypertable of that name in the database`);
    }
    await run(pool, `compression of ${table}`, 'SELECT remove_compression_policy($1::regclass, if_exists => true)', [table]);
    if (after === null) continue;
    await run(pool, `compression of ${table}`, 'SELECT add_compression_policy($1::regclass, compress_after => $2::interval)', [table, pgInterval(after)]);
    applied.compression.push(table);
  }
  for (const [cagg, r] of Object.entries(cfg.refresh)) {
    if ((await relationKind(pool, cagg)) !== 'cagg') {
      throw new TaplineError('CONFIG_INVALID', 'storage', `storage.refresh.${cagg}: no continuous aggregate of that name in the database`);
    }
    await run(pool, `refresh of ${cagg}`, 'SELECT remove_continuous_aggregate_policy($1::regclass, if_exists => true)', [cagg]);
    await run(pool, `refresh of ${cagg}`,
      'SELECT add_continuous_aggregate_policy($1::regclass, start_offset => $2::interval, end_offset => $3::interval, schedule_interval => $4::interval)',
      [cagg, pgInterval(r.startOffset), pgInterval(r.endOffset), pgInterval(r.every)]);
    applied.refresh.push(cagg);
  }
  return applied;
}

/**
 * What a long-running command (tapline run / serve) does at start, after the migrations:
 * installs the configured policies and, on the embedded server (no background workers), starts
 * the job runner that runs them every storage.jobIntervalMs. The runner gets a pool (connection)
 * of its own: a refresh can hold its connection for seconds, and sharing a size-1 pool with the
 * sink or the dashboard would make their queries time out waiting for it. close() stops the
 * runner (after the job in progress) and closes its pool; safe twice. Against a server nothing
 * runs here (its own scheduler runs the policies).
 */
export async function startStorageMaintenance(url: string, storageSection: unknown,
  opts: { embedded: boolean; onRun?: (runs: JobRun[]) => void }): Promise<{ runner: StorageJobRunner | null; close(): Promise<void> }> {
  const cfg = resolveStorageConfig(storageSection);
  const pool = createPool(url, { embedded: opts.embedded, max: 1 });
  try {
    await applyStoragePolicies(pool, cfg);
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
  if (!opts.embedded) {
    await pool.end();
    return { runner: null, close: async () => undefined };
  }
  const runner = new StorageJobRunner(pool, { intervalMs: cfg.jobIntervalMs, onRun: opts.onRun });
  runner.start();
  let closed = false;
  return {
    runner,
    close: async () => {
      if (closed) return;
      closed = true;
      await runner.close();
      await pool.end().catch(() => undefined);
    },
  };
}

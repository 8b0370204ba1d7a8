/**
 * Runs TimescaleDB's policies (continuous-aggregate refresh, compression, retention) from the
 * application. The embedded TimescaleDB (PGlite) has no background workers: its policies are
 * registered but never run by themselves (docs/timescaledb-embedded.md), so something must
 * `CALL run_job(id)` them. On a server they run by themselves and running them here too is
 * harmless.
 *
 * Order matters: refreshes first, lowest aggregate level first (an hour is computed from the
 * minutes, which must be up to date), then compression, then retention — so that raw rows are
 * aggregated before retention may drop them. Each run is recorded in tapline_job_runs (migration
 * 047), because the embedded server's job_stats stays empty.
 */
import type { Pool } from 'pg';
import { TaplineError, errorMessage } from '../errors';
import { logger } from '../log';

const log = logger('db-jobs');

export interface JobRun { jobId: number; proc: string; target: string; ms: number; ok: boolean; error?: string }

interface JobRow { job_id: number; proc_name: string; target: string; order_key: number }

const ORDER: Record<string, number> = { policy_refresh_continuous_aggregate: 0, policy_compression: 1, policy_retention: 2 };

export class StorageJobRunner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<JobRun[]> | null = null;
  private closed = false;

  constructor(private readonly pool: Pool, private readonly opts: { intervalMs: number; onRun?: (runs: JobRun[]) => void } = { intervalMs: 60_000 }) {}

  /** Runs every policy now, then every intervalMs (never two rounds at once). */
  start(): void {
    if (this.timer || this.closed) return;
    const tick = () => {
      this.runOnce().then((runs) => this.opts.onRun?.(runs)).catch((e) => log.warn({ err: errorMessage(e) }, 'storage jobs failed'))
        .finally(() => { if (!this.closed) this.timer = setTimeout(tick, this.opts.intervalMs); });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** The policies in the order they must run. */
  async jobs(): Promise<JobRow[]> {
    const r = await this.pool.query<JobRow>(`
      SELECT j.job_id, j.proc_name,
             coalesce(c.view_name, j.hypertable_name) AS target,
             coalesce(h.id, 0) AS order_key
        FROM timescaledb_information.jobs j
        LEFT JOIN _timescaledb_catalog.hypertable h ON h.table_name = j.hypertable_name AND h.schema_name = j.hypertable_schema
        LEFT JOIN timescaledb_information.continuous_aggregates c
               ON c.materialization_hypertable_name = j.hypertable_name AND c.materialization_hypertable_schema = j.hypertable_schema
       WHERE j.proc_name = ANY ($1)`, [Object.keys(ORDER)]);
    return r.rows.sort((a, b) => ORDER[a.proc_name] - ORDER[b.proc_name] || a.order_key - b.order_key || a.job_id - b.job_id);
  }

  /** One round: every policy once. A failing job is recorded and the others still run. */
  runOnce(): Promise<JobRun[]> {
    if (this.running) return this.running;
    this.running = this.round().finally(() => { this.running = null; });
    return this.running;
  }

  private async round(): Promise<JobRun[]> {
    const runs: JobRun[] = [];
    for (const j of await this.jobs()) {
      if (this.closed) break;
      const t0 = process.hrtime.bigint();
      let error: string | undefined;
      try {
        await this.pool.query(`CALL run_job(${Number(j.job_id)})`);
      } catch (e) {
        error = errorMessage(e);
      }
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const run: JobRun = { jobId: j.job_id, proc: j.proc_name, target: j.target, ms, ok: error === undefined, ...(error ? { error } : {}) };
      runs.push(run);
      await this.pool.query('INSERT INTO tapline_job_runs (job_id, proc_name, target, duration_ms, ok, error) VALUES ($1, $2, $3, $4, $5, $6)',
        [j.job_id, j.proc_name, j.target, ms, run.ok, error ?? null]).catch(() => undefined);
      if (error) log.warn({ job: j.job_id, proc: j.proc_name, target: j.target, err: error }, 'storage job failed');
    }
    return runs;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }
}

/** runOnce() that throws when a job failed (for commands and tests that need every job done). */
export async function runStorageJobs(pool: Pool): Promise<JobRun[]> {
  const runner = new StorageJobRunner(pool, { intervalMs: 60_000 });
  const runs = await runner.runOnce();
  const failed = runs.filter((r) => !r.ok);
  if (failed.length > 0) {
    throw new TaplineError('DB_REJECTED', 'storage', `storage jobs failed: ${failed.map((f) => `${f.proc} on ${f.target}: ${f.error}`).join('; ')}`);
  }
  return runs;
}

/**
 * The dashboard's only way to the database: parameterised statements through the shared pool
 * (SQL text is constant per call site; every value travels as a bound parameter). On the
 * embedded TimescaleDB the pool has one connection, so statements are already serialised;
 * each one is a single short SELECT/UPDATE (no transactions held across awaits).
 */
import type { Pool, QueryResultRow } from 'pg';
import { TaplineError, errorMessage } from '../../lib/errors';
import { HttpError } from './http-error';

export class Db {
  private relations: Map<string, boolean> = new Map();
  private relationsAt = 0;

  constructor(private readonly pool: Pool) {}

  async rows<R extends QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, values)).rows;
    } catch (e) {
      throw new TaplineError('DB_REJECTED', 'dashboard', `query failed: ${errorMessage(e)}`, { cause: e, retriable: true });
    }
  }

  async one<R extends QueryResultRow>(sql: string, values: unknown[] = []): Promise<R | undefined> {
    return (await this.rows<R>(sql, values))[0];
  }

  /**
   * Which of the storage relations exist (tables, views, continuous aggregates), re-checked at
   * most every 10 s: the storage migrations may land after the server started, and views from
   * later migrations are optional (routes fall back to the base tables).
   */
  async has(name: string): Promise<boolean> {
    if (Date.now() - this.relationsAt > 10_000) {
      const rs = await this.rows<{ name: string }>(
        `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p')`);
      this.relations = new Map(rs.map((r) => [r.name, true]));
      this.relationsAt = Date.now();
    }
    return this.relations.get(name) === true;
  }

  /** Table of a route that is missing: a 503 with the reason, not a SQL error. */
  async require(...names: string[]): Promise<void> {
    for (const n of names) {
      if (!(await this.has(n))) {
        throw new HttpError(503, 'not_ready', `table ${n} does not exist yet: run the TimescaleDB sink (tapline sink timescale) once to create it`);
      }
    }
  }
}

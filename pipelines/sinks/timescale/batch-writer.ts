/**
 * Writes the rows of a batch of records into their tables with `INSERT ... SELECT FROM
 * unnest($1::type[], ...) ON CONFLICT DO UPDATE`: one array parameter per column, so no
 * 65 535-parameter limit and the fastest insert the embedded TimescaleDB has (COPY FROM STDIN
 * kills it: docs/timescaledb-embedded.md).
 * - The whole batch goes in one short transaction; rows with the same key in one batch are
 *   reduced to the last (one INSERT may not hit a row twice, and the last is the newest).
 * - Connection-level failures (database down, restarting) are retried with capped exponential
 *   backoff until they succeed or the writer is closed: the caller stops consuming meanwhile.
 * - A batch the database refuses for its data is split in halves until the refused records are
 *   isolated; they are returned (for the dead-letter topic) with the database's message.
 * - Optimistic insert: a transaction first tries a plain INSERT, which the database runs faster
 *   than ON CONFLICT's speculative insertion, and falls back to the upsert when the plain one
 *   hits an existing key (unique_violation, 23505: the transaction rolled back, so nothing was
 *   written twice). After a conflict the next UPSERT_AFTER_CONFLICT transactions go straight to
 *   the upsert: a replay (every key exists) pays the failed attempt once per run of conflicts,
 *   not once per transaction. The table ends up the same either way.
 * - Rows are collected as columns (column-batch.ts); prepareAsync() turns them into the array
 *   parameters up front and in slices, so the sink can do it while the database still writes the
 *   previous batch without holding up that write's next statement.
 */
import type { Pool, PoolClient } from 'pg';
import { logger } from '../../../lib/log';
import { sqlType } from '../../../lib/db/avro-columns';
import type { Target } from './tables/types';
import { ColumnBatch, arrayLiteral, type PendingRecord } from './column-batch';

export type { PendingRecord } from './column-batch';

const log = logger('timescale-writer');
const listening = new WeakSet<PoolClient>();

/**
 * SQLSTATE classes that describe the data, not the connection: retrying cannot help. 54 (program
 * limit exceeded) included: a value too large for an index row (54000) fails the same way forever.
 */
const DATA_ERROR_CLASSES = ['22', '23', '42', '54'];

export function isDataError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && code.length === 5 && DATA_ERROR_CLASSES.includes(code.slice(0, 2));
}

export interface RejectedRecord<R = unknown> { ref: R; error: string; sqlState: string | null }
/**
 * A batch's statements, parameters serialised (see prepare()). `records()` gives each record's
 * rows again, for the rare batch the database refuses (searched record by record).
 */
export interface PreparedBatch<R = unknown> {
  refs: R[];
  /** Rows per target the records produced, duplicates included. */
  added: number[];
  statements: { target: number; params: string[] }[];
  records(): PendingRecord<R>[];
}

/** Lets pending I/O callbacks (a query's answer) run before the next slice of CPU work. */
export const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
/** Arrays and jsonb travel as text (pg's array serialisation cannot nest them) and are cast in the SELECT. */
const viaText = (pgType: string) => pgType.startsWith('_') || pgType === 'jsonb';

/** `INSERT ... SELECT FROM unnest(...)` of a target's columns, one array parameter each; no conflict handling. */
export function unnestInsertSql(t: Target): string {
  const cols = t.columns;
  const params = cols.map((c, i) => `$${i + 1}::${viaText(c.pgType) ? 'text' : sqlType(c.pgType)}[]`);
  const alias = cols.map((_, i) => `c${i}`);
  const select = cols.map((c, i) => (viaText(c.pgType) ? `c${i}::${sqlType(c.pgType)}` : `c${i}`));
  return `INSERT INTO ${t.table} (${cols.map((c) => quote(c.name)).join(',')}) SELECT ${select.join(',')} `
    + `FROM unnest(${params.join(',')}) AS u(${alias.join(',')})`;
}

export function unnestUpsertSql(t: Target): string {
  const cols = t.columns;
  const keys = new Set(t.conflictKey);
  const updates = cols.filter((c) => !keys.has(c.name)).map((c) => `${quote(c.name)} = EXCLUDED.${quote(c.name)}`);
  const action = t.onConflict === 'nothing' || updates.length === 0
    ? 'DO NOTHING'
    : `DO UPDATE SET ${updates.join(', ')}${t.updateWhere ? ` WHERE ${t.updateWhere}` : ''}`;
  return `${unnestInsertSql(t)} ON CONFLICT (${t.conflictKey.map(quote).join(',')}) ${action}`;
}

export interface BatchWriterOptions { chunkSize: number; maxBackoffMs?: number }

/** Transactions that use the upsert directly after a plain insert met an existing key. */
export const UPSERT_AFTER_CONFLICT = 16;
const UNIQUE_VIOLATION = '23505';

export class BatchWriter {
  private readonly upsertSql: string[];
  private readonly insertSql: string[];
  private readonly keyIdx: number[][];
  private closed = false;
  /** Transactions left that skip the plain-insert attempt (see UPSERT_AFTER_CONFLICT). */
  private upsertFor = 0;
  retries = 0;
  /** Plain inserts that met an existing key and were written again as upserts. */
  conflicts = 0;

  constructor(private readonly pool: Pool, private readonly targets: Target[], private readonly opts: BatchWriterOptions) {
    this.upsertSql = targets.map(unnestUpsertSql);
    this.insertSql = targets.map(unnestInsertSql);
    this.keyIdx = targets.map((t) => t.conflictKey.map((k) => t.columns.findIndex((c) => c.name === k)));
  }

  close(): void { this.closed = true; }

  /** An empty batch to add records' rows to (rows deduplicated by conflict key, last wins). */
  batch<R>(dedupe = true): ColumnBatch<R> { return new ColumnBatch<R>(this.targets, this.keyIdx, dedupe); }

  /**
   * The statements of a batch, parameters serialised. For a ColumnBatch, `rebuild` gives a
   * record's rows again should the database refuse the batch.
   */
  prepare<R>(input: PendingRecord<R>[] | ColumnBatch<R>, rebuild?: (ref: R) => PendingRecord<R>, dedupe = true): PreparedBatch<R> {
    const { batch, records } = this.columnsOf(input, rebuild, dedupe);
    return { refs: batch.refs, added: batch.added, statements: [...this.statements(batch)], records };
  }

  /**
   * prepare() in slices, yielding to the event loop after each statement: a write in flight
   * meanwhile sends its next statement as soon as the database answers the previous one.
   */
  async prepareAsync<R>(input: PendingRecord<R>[] | ColumnBatch<R>, rebuild?: (ref: R) => PendingRecord<R>): Promise<PreparedBatch<R>> {
    const { batch, records } = this.columnsOf(input, rebuild, true);
    const statements: PreparedBatch['statements'] = [];
    for (const st of this.statements(batch)) {
      statements.push(st);
      await yieldToLoop();
    }
    return { refs: batch.refs, added: batch.added, statements, records };
  }

  private columnsOf<R>(input: PendingRecord<R>[] | ColumnBatch<R>, rebuild: ((ref: R) => PendingRecord<R>) | undefined, dedupe: boolean) {
    if (Array.isArray(input)) {
      const batch = this.batch<R>(dedupe);
      for (const r of input) batch.add(r.ref, r.rows);
      return { batch, records: () => input };
    }
    if (!rebuild) throw new Error('a column batch needs a rebuild function (its records\' rows are not kept)');
    return { batch: input, records: () => input.refs.map(rebuild) };
  }

  private *statements(batch: ColumnBatch): Generator<PreparedBatch['statements'][number]> {
    batch.seal();
    for (let t = 0; t < this.targets.length; t++) {
      const n = batch.rows(t);
      for (let i = 0; i < n; i += this.opts.chunkSize) {
        const end = Math.min(n, i + this.opts.chunkSize);
        yield { target: t, params: batch.columns[t].map((values) => arrayLiteral(values, i, end)) };
      }
    }
  }

  async write<R>(input: PendingRecord<R>[] | PreparedBatch<R>, keepAlive?: () => Promise<void>): Promise<RejectedRecord<R>[]> {
    const batch = Array.isArray(input) ? this.prepare(input) : input;
    if (batch.refs.length === 0) return [];
    const upsert = this.upsertFor > 0;
    if (upsert) this.upsertFor--;
    try {
      await this.withRetry(() => this.transaction(batch, upsert), keepAlive);
      return [];
    } catch (e) {
      if (!isDataError(e)) throw e;
      if (!upsert && (e as { code?: string }).code === UNIQUE_VIOLATION) {
        this.conflicts++;
        this.upsertFor = UPSERT_AFTER_CONFLICT;
        try {
          await this.withRetry(() => this.transaction(batch, true), keepAlive);
          return [];
        } catch (e2) {
          if (!isDataError(e2)) throw e2;
        }
      }
    }
    const rejected: RejectedRecord<R>[] = [];
    await this.bisect(batch.records(), rejected, keepAlive);
    return rejected;
  }

  /**
   * Finds the refused records by halving: a few bad records in a batch of thousands cost
   * O(bad * log n) transactions, not one per record. Halves are written in order, so a later
   * record still replaces an earlier one with the same key.
   */
  private async bisect<R>(records: PendingRecord<R>[], rejected: RejectedRecord<R>[], keepAlive?: () => Promise<void>): Promise<void> {
    const mid = records.length >> 1;
    for (const half of records.length === 1 ? [records] : [records.slice(0, mid), records.slice(mid)]) {
      try {
        await this.withRetry(() => this.transaction(this.prepare(half), true), keepAlive);
        await keepAlive?.().catch(() => undefined); // a long search must not cost the group membership
      } catch (e) {
        if (!isDataError(e)) throw e;
        if (half.length > 1) await this.bisect(half, rejected, keepAlive);
        else rejected.push({ ref: half[0].ref, error: (e as Error).message, sqlState: (e as { code?: string }).code ?? null });
      }
    }
  }

  private async transaction(batch: PreparedBatch, upsert: boolean): Promise<void> {
    const sql = upsert ? this.upsertSql : this.insertSql;
    const client = await this.pool.connect();
    // A server that goes away mid-query makes the checked-out client emit 'error' (the pool only
    // listens on idle ones): without a listener that would crash the process. The query's own
    // rejection reports the failure.
    if (!listening.has(client)) { client.on('error', () => undefined); listening.add(client); }
    let broken: Error | undefined;
    try {
      // The whole transaction is queued at once: pg sends each command as soon as the previous
      // one completes, from its socket handler, so the database does not wait for this process's
      // event loop (busy decoding the next slice) between statements. After a failed statement
      // the rest fail too (or COMMIT rolls back): the first failure is the cause.
      const done = await Promise.allSettled([client.query('BEGIN'),
        ...batch.statements.map((st) => client.query(sql[st.target], st.params)), client.query('COMMIT')]);
      const failed = done.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (e) {
      if (!isDataError(e)) broken = e as Error; // the connection may be dead: do not pool it again
      else await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release(broken);
    }
  }

  private async withRetry(fn: () => Promise<void>, keepAlive?: () => Promise<void>): Promise<void> {
    let delay = 250;
    for (;;) {
      try {
        await fn();
        return;
      } catch (e) {
        if (isDataError(e) || this.closed) throw e;
        this.retries++;
        log.warn({ err: (e as Error).message, retryInMs: delay }, 'database write failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
        await keepAlive?.().catch(() => undefined);
        delay = Math.min(delay * 2, this.opts.maxBackoffMs ?? 10_000);
      }
    }
  }
}

/**
 * Writes batches of rows with one multi-row upsert per chunk inside a transaction.
 * - Connection-level failures (database down, restarting) are retried with capped exponential
 *   backoff until they succeed or the writer is closed: nothing is skipped.
 * - A batch the database rejects for its data is split row by row; the rows it still rejects
 *   are returned to the caller (for the dead-letter topic) with the database's message.
 */
import type { Pool } from 'pg';
import { logger } from '../../../lib/log';
import { upsertSql } from './rows';

const log = logger('timescale-writer');

export interface RejectedRow<T> { item: T; error: string; sqlState: string | null }

/** SQLSTATE classes that describe the data, not the connection: retrying cannot help. */
const DATA_ERROR_CLASSES = ['22', '23', '42'];

export function isDataError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && code.length === 5 && DATA_ERROR_CLASSES.includes(code.slice(0, 2));
}

export interface WriterOptions {
  table: string;
  columns: readonly string[];
  conflictKey: string[];
  chunkSize: number;
  maxBackoffMs?: number;
}

export class RowWriter<T> {
  private closed = false;
  retries = 0;

  constructor(private readonly pool: Pool, private readonly opts: WriterOptions, private readonly toRow: (item: T) => unknown[]) {}

  close(): void { this.closed = true; }

  /** Writes all items; resolves with the rows the database refused for their content. */
  async write(items: T[], keepAlive?: () => Promise<void>): Promise<RejectedRow<T>[]> {
    const rejected: RejectedRow<T>[] = [];
    for (let i = 0; i < items.length; i += this.opts.chunkSize) {
      const chunk = items.slice(i, i + this.opts.chunkSize);
      try {
        await this.withRetry(() => this.upsert(chunk), keepAlive);
      } catch (e) {
        if (!isDataError(e)) throw e;
        for (const item of chunk) {
          try {
            await this.withRetry(() => this.upsert([item]), keepAlive);
          } catch (e2) {
            if (!isDataError(e2)) throw e2;
            rejected.push({ item, error: (e2 as Error).message, sqlState: (e2 as { code?: string }).code ?? null });
          }
        }
      }
    }
    return rejected;
  }

  private async upsert(chunk: T[]): Promise<void> {
    const params: unknown[] = [];
    for (const item of chunk) params.push(...this.toRow(item));
    const sql = upsertSql(this.opts.table, this.opts.columns, this.opts.conflictKey, chunk.length);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(sql, params);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
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

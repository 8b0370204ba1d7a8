/**
 * Writes an export as Arrow IPC (stream or file format) to any Node Writable, one RecordBatch per
 * page, with bounded memory: the next page is not fetched while `out` is backed up (a slow HTTP
 * client or a full pipe), so at most about one batch waits in memory.
 */
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Pool } from 'pg';
import { RecordBatchFileWriter, RecordBatchStreamWriter } from 'apache-arrow';
import { TaplineError } from '../errors';
import { recordBatches } from './pages';
import type { ExportPlan } from './plan';

export type ArrowFormat = 'stream' | 'file';

export interface WriteOptions {
  format?: ArrowFormat;
  batchRows?: number;
  /** End `out` when done (default true). */
  end?: boolean;
}

export interface WriteResult { rows: number; batches: number; bytes: number }

export const ARROW_STREAM_MIME = 'application/vnd.apache.arrow.stream';
export const ARROW_FILE_MIME = 'application/vnd.apache.arrow.file';

const gone = (out: Writable) => out.destroyed || out.writableEnded || (out as { closed?: boolean }).closed === true;

/** Resolves at the next 'drain', 'close' or 'error' of `out` (errors are recorded elsewhere). */
function drainOrClose(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done).off('close', done).off('error', done);
      resolve();
    };
    out.on('drain', done).on('close', done).on('error', done);
  });
}

/** Resolves once `out` can take more (or is gone: then the caller stops). */
async function drained(out: Writable): Promise<void> {
  await new Promise((r) => setImmediate(r)); // let the pump move what the writer queued
  while (out.writableNeedDrain && !gone(out)) await drainOrClose(out);
}

export async function writeArrow(pool: Pool, plan: ExportPlan, out: Writable, opts: WriteOptions = {}): Promise<WriteResult> {
  const writer = opts.format === 'file' ? new RecordBatchFileWriter() : new RecordBatchStreamWriter();
  let bytes = 0;
  let failed: Error | null = null;
  const onError = (e: Error) => { failed ??= e; };
  out.on('error', onError);
  // The pump moves the writer's bytes to `out` as they are produced, respecting backpressure.
  const pump = (async () => {
    for await (const chunk of writer) {
      if (gone(out)) continue; // keep draining the queue so the writer never blocks
      bytes += chunk.byteLength;
      if (!out.write(chunk)) await drainOrClose(out);
    }
  })();
  let rows = 0;
  let batches = 0;
  try {
    writer.reset(undefined, plan.schema); // the schema goes out first, so an empty export is still a valid file
    for await (const batch of recordBatches(pool, plan, { batchRows: opts.batchRows, stopped: () => gone(out) || failed !== null })) {
      writer.write(batch);
      rows += batch.numRows;
      batches++;
      await drained(out);
    }
    if (failed) throw failed;
    if (gone(out)) throw new TaplineError('IO', 'export', `the reader went away after ${rows} rows`);
    writer.close();
    await pump;
    if (opts.end !== false) {
      out.end();
      await finished(out); // a file is complete on disk (or the error surfaces) before we return
    }
    if (failed) throw failed;
    return { rows, batches, bytes };
  } catch (e) {
    try { writer.abort(e); } catch { /* already closed */ }
    await pump.catch(() => undefined);
    // A half-written Arrow stream must not look complete: the reader gets an error, not a short table.
    if (!out.destroyed) out.destroy(e as Error);
    throw e;
  } finally {
    out.off('error', onError);
  }
}

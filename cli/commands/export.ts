/**
 * `tapline export --table T [--from ISO] [--to ISO] --out F [--format file|stream] [--columns a,b]`:
 * a time range of any tapline table or view as Arrow IPC (docs/export.md). Needs only the
 * database: the given one (--pg / TAPLINE_PG_URL) or the embedded one, started for the export
 * and stopped again if it was not running.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Pool } from 'pg';
import { configFrom, positiveInt, withServiceOptions } from '../options';
import type { TaplineConfig } from '../../lib/config';
import { assertTimescale, createPool, ensureTimescale } from '../../lib/db/pool';
import { EmbeddedTimescale } from '../../lib/services/timescale/embedded';
import { TaplineError } from '../../lib/errors';
import { planExport, writeArrow, type ArrowFormat, type WriteResult } from '../../lib/export';

export interface ExportCommandOptions {
  table: string;
  from?: string;
  to?: string;
  /** File path, or '-' for stdout. */
  out: string;
  format?: ArrowFormat;
  columns?: string[];
  timeColumn?: string;
  batchRows?: number;
}

/** file for *.arrow/*.feather and anything else; stream for '-' and *.arrows. */
export function defaultFormat(out: string): ArrowFormat {
  return out === '-' || out.endsWith('.arrows') ? 'stream' : 'file';
}

/**
 * The export itself, on an open pool. A file is written under a temporary name and renamed when
 * complete, so a failed export never leaves a truncated file that looks like a good one.
 */
export async function runExport(pool: Pool, o: ExportCommandOptions): Promise<WriteResult> {
  const plan = await planExport(pool, { table: o.table, from: o.from, to: o.to, columns: o.columns, timeColumn: o.timeColumn });
  const format = o.format ?? defaultFormat(o.out);
  if (o.out === '-') return writeArrow(pool, plan, process.stdout, { format, batchRows: o.batchRows, end: false });
  const dir = path.dirname(path.resolve(o.out));
  if (!fs.existsSync(dir)) throw new TaplineError('EXPORT_INVALID', 'export', `cannot write ${o.out}: directory ${dir} does not exist`);
  const tmp = `${o.out}.partial-${process.pid}`;
  try {
    const res = await writeArrow(pool, plan, fs.createWriteStream(tmp), { format, batchRows: o.batchRows });
    fs.renameSync(tmp, o.out);
    return res;
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** The configured database, or the embedded one (started if needed; `stop` stops only what we started). */
async function openDatabase(cfg: TaplineConfig): Promise<{ pool: Pool; stop: () => Promise<void> }> {
  if (cfg.timescale.url) {
    const { url } = await ensureTimescale({ url: cfg.timescale.url });
    const pool = createPool(url, { embedded: false, max: 1 });
    return { pool, stop: () => pool.end() };
  }
  const db = new EmbeddedTimescale({ stateDir: path.join(cfg.stateDir, 'timescale'), port: cfg.timescale.embeddedPort });
  const { url, started } = await db.start();
  const pool = createPool(url, { embedded: true });
  try {
    await assertTimescale(pool, url);
  } catch (e) {
    await pool.end();
    if (started) await db.stop();
    throw e;
  }
  return { pool, stop: async () => { await pool.end(); if (started) await db.stop(); } };
}

function formatOption(v: string): ArrowFormat {
  if (v !== 'file' && v !== 'stream') throw new InvalidArgumentError('--format must be "file" or "stream"');
  return v;
}

export function register(program: Command): void {
  withServiceOptions(program.command('export'))
    .description('write a time range of a table or view as Apache Arrow IPC (timestamps, integers and addresses typed); see docs/export.md')
    .requiredOption('--table <name>', 'table or view in schema public (e.g. flow_windows)')
    .option('--from <time>', 'ISO 8601 start, inclusive (default: the first row); no zone means UTC')
    .option('--to <time>', 'ISO 8601 end, exclusive (default: after the last row)')
    .requiredOption('--out <file>', 'output file, or - for stdout')
    .option('--format <format>', 'file (random access, default) or stream (default for - and *.arrows)', formatOption)
    .option('--columns <list>', 'comma-separated columns, in this order (default: all)', (v: string) => v.split(','))
    .option('--time-column <name>', 'timestamp column the range applies to (default: the hypertable\'s time dimension)')
    .option('--batch-rows <n>', 'rows per record batch (default 50000)', positiveInt('--batch-rows'))
    .action(async (opts: Omit<ExportCommandOptions, 'table' | 'out'> & { table: string; out: string }, cmd: Command) => {
      const cfg = configFrom(cmd);
      const { pool, stop } = await openDatabase(cfg);
      try {
        const t0 = Date.now();
        const r = await runExport(pool, opts);
        const secs = (Date.now() - t0) / 1000;
        process.stderr.write(`exported ${r.rows} rows of ${opts.table} in ${r.batches} batches, ${r.bytes} bytes` +
          `${opts.out === '-' ? '' : ` to ${opts.out}`} (${secs.toFixed(1)} s)\n`);
      } finally {
        await stop();
      }
    });
}

/**
 * Reads an export plan's rows as Arrow RecordBatches, one page query per batch.
 *
 * Paging is keyset on the time column with an offset only inside one timestamp: a page starts at
 * (lo, skip) = "rows with time >= lo, minus the first `skip` of those at exactly lo". After a
 * full page whose last time is L, the next page is (L, rows of this page at L) — or, when the
 * whole page was at lo, (lo, skip + page size). The ORDER BY (time, key) is total, so each page
 * continues exactly where the previous one stopped.
 *
 * Each page is its own statement: no transaction or cursor stays open between batches, so a slow
 * reader never holds the embedded database's single session (every other client would wait).
 * The price: rows written into the range while an export runs may or may not be included.
 */
import type { Pool } from 'pg';
import { makeData, RecordBatch, Struct, type Data, type List } from 'apache-arrow';
import { TaplineError } from '../errors';
import { decodeColumn, decodeListColumn, scanArray } from './decode';
import type { ExportPlan } from './plan';
import { microsToSql } from './time';

export const DEFAULT_BATCH_ROWS = 50_000;

/** Every value arrives as text; bytea (the arrays) as `\x` + hex, which we decode ourselves. */
const RAW = { getTypeParser: () => (v: string) => v };

function hexToBuffer(v: string | null): Buffer | null {
  if (v === null) return null;
  if (!v.startsWith('\\x')) throw new TaplineError('INTERNAL', 'export', 'bytea not in hex format (bytea_output must be hex)');
  return Buffer.from(v.slice(2), 'hex');
}

/** The time (µs) of each row of a page, from the binary timestamp array. */
function timesOf(buf: Buffer | null): BigInt64Array {
  const e = scanArray(buf);
  const out = new BigInt64Array(e.count);
  for (let i = 0; i < e.count; i++) out[i] = (buf as Buffer).readBigInt64BE(e.pos[i]) + 946_684_800_000_000n;
  return out;
}

export interface PageOptions {
  batchRows?: number;
  /** Checked between pages; when it returns true the export stops (the reader went away). */
  stopped?: () => boolean;
}

export async function* recordBatches(pool: Pool, plan: ExportPlan, opts: PageOptions = {}): AsyncGenerator<RecordBatch> {
  const limit = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  const hi = plan.toUs === null ? 'infinity' : microsToSql(plan.toUs, plan.withZone);
  let lo: bigint | null = plan.fromUs;
  let skip = 0;
  const structType = new Struct(plan.schema.fields);
  for (;;) {
    if (opts.stopped?.()) return;
    const loSql = lo === null ? '-infinity' : microsToSql(lo, plan.withZone);
    const r = await pool.query({ text: plan.sql, values: [loSql, hi, limit, skip], rowMode: 'array', types: RAW });
    const row = r.rows[0] as (string | null)[];
    const n = Number(row[0]);
    if (n === 0) return;
    const times = timesOf(hexToBuffer(row[1]));
    const children: Data[] = [];
    let k = 2;
    for (const c of plan.columns) {
      if (!c.map.list) {
        children.push(decodeColumn(hexToBuffer(row[k++]), c.map.wire, c.field.type));
      } else {
        const lengths = hexToBuffer(row[k++]);
        const elements = hexToBuffer(row[k++]);
        children.push(decodeListColumn(lengths, elements, c.map.wire, c.field.type as List));
      }
    }
    for (const d of children) {
      if (d.length !== n) throw new TaplineError('INTERNAL', 'export', `page of ${n} rows decoded into a column of ${d.length}`);
    }
    yield new RecordBatch(plan.schema, makeData({ type: structType, length: n, nullCount: 0, children }));
    if (n < limit) return;
    const last = times[n - 1];
    let atLast = 0;
    for (let i = n - 1; i >= 0 && times[i] === last; i--) atLast++;
    if (atLast === n && lo !== null && last === lo) {
      skip += n; // the whole page was one timestamp: go on within it
    } else {
      lo = last;
      skip = atLast;
    }
  }
}

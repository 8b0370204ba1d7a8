/**
 * A batch's rows kept as columns from the moment they are decoded: one value array per column
 * and target, rows with the same conflict key reduced to the last in place. Why columns: the
 * write sends one array parameter per column anyway, and per-row arrays held until the database
 * commits were most of what the sink's garbage collector copied (a third of its CPU). A record's
 * rows are not kept: a batch the database refuses is rebuilt record by record from the messages
 * (rare), see BatchWriter.write.
 */
import type { Target } from './tables/types';

// pg's own serialisation for values other than strings, numbers and booleans (Dates, buffers,
// objects): a parameter means exactly what pg would have sent. Not in pg's type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue(v: unknown): unknown };

/** One Kafka record's rows: [target index, row] pairs. */
export interface PendingRecord<R = unknown> { ref: R; rows: [number, unknown[]][] }

const NEEDS_ESCAPE = /["\\]/;

/** A string as a quoted element of a PostgreSQL array literal. */
function quoted(s: string): string {
  return NEEDS_ESCAPE.test(s) ? `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${s}"`;
}

/** One element of an array literal, as pg's arrayString writes it (numbers and booleans need no quotes). */
export function arrayElement(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  switch (typeof v) {
    case 'string': return quoted(v);
    case 'number': case 'bigint': case 'boolean': return String(v);
    default:
      if (Buffer.isBuffer(v)) return `"\\\\x${v.toString('hex')}"`;
      return quoted(String(prepareValue(v)));
  }
}

/** values[from, to) as the text of a PostgreSQL array, e.g. {"a",2,NULL}. */
export function arrayLiteral(values: unknown[], from: number, to: number): string {
  const parts = new Array<string>(to - from);
  for (let i = from; i < to; i++) parts[i - from] = arrayElement(values[i]);
  return `{${parts.join(',')}}`;
}

export class ColumnBatch<R = unknown> {
  /** The batch's records in order (whose rows were added). */
  readonly refs: R[] = [];
  /** Rows added per target, duplicates included (what the records produced). */
  readonly added: number[];
  /** columns[target][column] = values, one per distinct row. */
  readonly columns: unknown[][][];
  private readonly seen: Map<string, number>[] | null;

  constructor(targets: Target[], private readonly keyIdx: number[][], dedupe = true) {
    this.columns = targets.map((t) => t.columns.map(() => []));
    this.added = targets.map(() => 0);
    this.seen = dedupe ? targets.map(() => new Map<string, number>()) : null;
  }

  /** Rows in target t after deduplication. */
  rows(t: number): number { return this.columns[t][0]?.length ?? 0; }

  add(ref: R, rows: [number, unknown[]][]): void {
    this.refs.push(ref);
    for (const [t, row] of rows) this.addRow(t, row);
  }

  private addRow(t: number, row: unknown[]): void {
    this.added[t]++;
    const cols = this.columns[t];
    let at = cols[0].length;
    if (this.seen) {
      const idx = this.keyIdx[t];
      const key = idx.length === 3 ? `${row[idx[0]]}\u0000${row[idx[1]]}\u0000${row[idx[2]]}` : idx.map((i) => String(row[i])).join('\u0000');
      const prev = this.seen[t].get(key);
      if (prev === undefined) this.seen[t].set(key, at); else at = prev; // the last row with a key wins
    }
    for (let c = 0; c < cols.length; c++) cols[c][at] = row[c];
  }

  /** Done adding: the key index is not needed for the write. */
  seal(): void { this.seen?.forEach((m) => m.clear()); }
}

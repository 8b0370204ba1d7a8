/**
 * Decoded Avro values -> values `pg` sends as text parameters. Built once per column list
 * (a closure per column) because this runs for every row the sink writes.
 */
import type { ColumnDef } from '../../../../lib/db/avro-columns';
import { nsToIso } from '../rows';

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

type Getter = (rec: Record<string, unknown>) => unknown;

function getter(path: string[]): Getter {
  if (path.length === 1) { const [a] = path; return (r) => r[a]; }
  if (path.length === 2) {
    const [a, b] = path;
    return (r) => { const o = r[a] as Record<string, unknown> | null; return o == null ? null : o[b]; };
  }
  return (r) => {
    let o: unknown = r;
    for (const k of path) { if (o == null) return null; o = (o as Record<string, unknown>)[k]; }
    return o;
  };
}

const jsonReplacer = (_k: string, v: unknown) => (typeof v === 'bigint' ? Number(v) : v);

/** PostgreSQL array literal ({"a","b"}) for text-like and numeric arrays alike. */
export function pgArray(items: unknown[]): string {
  return `{${items.map((x) => (typeof x === 'string' ? `"${x.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : x === null ? 'NULL' : String(x))).join(',')}}`;
}

export function converter(c: ColumnDef): (v: unknown) => unknown {
  switch (c.conv) {
    case 'ts': {
      // Window bounds repeat from row to row: remember the last conversion.
      let lastIn: unknown = null;
      let lastOut: string | null = null;
      return (v) => {
        if (v == null) return null;
        if (v !== lastIn) { lastIn = v; lastOut = nsToIso(v as bigint); }
        return lastOut;
      };
    }
    // A number when exact (no string to allocate and keep until the write), else the digits.
    case 'long': return (v) => (v == null ? null : typeof v === 'bigint' && v >= -SAFE && v <= SAFE ? Number(v) : typeof v === 'number' ? v : String(v));
    case 'json': return (v) => (v == null ? null : JSON.stringify(v, jsonReplacer));
    case 'array': return (v) => (v == null ? null : pgArray(v as unknown[]));
    default: return (v) => (v === undefined ? null : v);
  }
}

/** rowOf(columns)(record) -> the row, values in column order. Columns without a path are left null. */
export function rowBuilder(columns: ColumnDef[]): (rec: Record<string, unknown>) => unknown[] {
  const parts = columns.map((c) => {
    if (c.path.length === 0) return () => null;
    const get = getter(c.path);
    const conv = converter(c);
    return (r: Record<string, unknown>) => conv(get(r));
  });
  const n = parts.length;
  return (rec) => {
    const row = new Array<unknown>(n);
    for (let i = 0; i < n; i++) row[i] = parts[i](rec);
    return row;
  };
}

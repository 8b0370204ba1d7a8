/**
 * Test helper for the export tests: compares an Arrow table read back from an export with the
 * same rows read by plain SQL, value for value and type for type. The SQL side deliberately
 * takes another road than the exporter: PostgreSQL's text output (DataRow text, not binary
 * arrays), exact epoch microseconds from extract(), JSON for lists.
 */
import assert from 'node:assert/strict';
import type { Pool } from 'pg';
import { Type, type Data, type DataType, type Field, type Table, type Vector } from 'apache-arrow';

const q = (n: string) => `"${n.replace(/"/g, '""')}"`;
const RAW = { getTypeParser: () => (v: string) => v };

/** The Arrow type each PostgreSQL type must export as (docs/export.md), from format_type(). */
export function expectedArrowType(declared: string): string {
  if (declared.endsWith('[]')) return `List<${expectedArrowType(declared.slice(0, -2))}>`;
  const t: Record<string, string> = {
    'timestamp with time zone': 'Timestamp<MICROSECOND, UTC>', 'timestamp without time zone': 'Timestamp<MICROSECOND>',
    bigint: 'Int64', integer: 'Int32', smallint: 'Int16', 'double precision': 'Float64', real: 'Float32', numeric: 'Float64',
    boolean: 'Bool', date: 'Date32<DAY>',
  };
  return t[declared.replace(/\(.*\)$/, '')] ?? 'Utf8';
}

async function declaredTypes(pool: Pool, table: string): Promise<Map<string, string>> {
  const r = await pool.query<{ attname: string; t: string }>(
    `SELECT attname, format_type(atttypid, atttypmod) t FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, [`public.${q(table)}`]);
  return new Map(r.rows.map((x) => [x.attname, x.t]));
}

function sqlRef(f: Field): string {
  const c = q(f.name);
  switch (f.type.typeId) {
    case Type.Timestamp: return `(extract(epoch FROM ${c}) * 1000000)::int8::text`;
    case Type.Date: return `(${c} - DATE '1970-01-01')::text`;
    case Type.List:
      if (f.type.children[0].type.typeId === Type.Timestamp) {
        return `CASE WHEN ${c} IS NULL THEN NULL ELSE coalesce((SELECT json_agg((extract(epoch FROM x) * 1000000)::int8::text ORDER BY o)
                  FROM unnest(${c}) WITH ORDINALITY u(x, o)), '[]') END::text`;
      }
      return `array_to_json(${c})::text`;
    default: return c;
  }
}

/**
 * A raw stored value (bigint microseconds, epoch days) where the getter would round. `values` of
 * a sliced Data (a list element) already starts at the slice, as in apache-arrow's own getters.
 */
function rawAt(d: Data, i: number): unknown {
  return (d.values as ArrayLike<unknown>)[i];
}

function normArrow(type: DataType, d: Data, v: unknown, i: number): unknown {
  if (!d.getValid(i)) return null;
  switch (type.typeId) {
    case Type.Timestamp: case Type.Date: case Type.Int: return String(type.typeId === Type.Int ? v : rawAt(d, i));
    case Type.Float: return Number.isNaN(v as number) ? 'NaN' : String(v);
    case Type.Bool: return v ? 't' : 'f';
    case Type.List: {
      const child = (v as Vector).data[0];
      const et = (type.children[0] as Field).type;
      const out: unknown[] = [];
      for (let j = 0; j < child.length; j++) {
        if (!child.getValid(j)) { out.push(null); continue; }
        const x = et.typeId === Type.Timestamp ? String(rawAt(child, j)) : (v as Vector).get(j);
        out.push(typeof x === 'bigint' ? Number(x) : x);
      }
      return JSON.stringify(out);
    }
    default: return v;
  }
}

function normSql(type: DataType, s: string | null): unknown {
  if (s === null) return null;
  if (type.typeId === Type.Float) {
    const n = Number(s);
    const x = (type as { precision?: number }).precision === 1 ? Math.fround(n) : n;
    return Number.isNaN(x) ? 'NaN' : String(x);
  }
  if (type.typeId === Type.List) return JSON.stringify(JSON.parse(s));
  return s;
}

export interface CompareSpec {
  table: string;
  timeColumn: string;
  from: string;
  to: string;
  /** ORDER BY of the reference query: the export's documented order. */
  orderBy: string;
}

/** Asserts types and every value; returns the number of rows compared. */
export async function assertEqualsSql(pool: Pool, t: Table, spec: CompareSpec): Promise<number> {
  const declared = await declaredTypes(pool, spec.table);
  const fields = t.schema.fields;
  for (const f of fields) {
    assert.ok(declared.has(f.name), `${spec.table}.${f.name} exists`);
    assert.equal(String(f.type), expectedArrowType(declared.get(f.name)!), `Arrow type of ${spec.table}.${f.name} (${declared.get(f.name)})`);
  }
  const ref = await pool.query({
    text: `SELECT ${fields.map(sqlRef).join(', ')} FROM public.${q(spec.table)}
            WHERE ${q(spec.timeColumn)} >= $1::timestamptz AND ${q(spec.timeColumn)} < $2::timestamptz ORDER BY ${spec.orderBy}`,
    values: [spec.from, spec.to], rowMode: 'array', types: RAW,
  });
  assert.equal(t.numRows, ref.rows.length, `${spec.table}: number of rows`);
  fields.forEach((f, ci) => {
    const got: unknown[] = [];
    for (const b of t.batches) {
      const vec = b.getChildAt(ci)!;
      const d = vec.data[0];
      for (let i = 0; i < b.numRows; i++) got.push(normArrow(f.type, d, vec.get(i), i));
    }
    const want = ref.rows.map((r) => normSql(f.type, (r as (string | null)[])[ci]));
    assert.deepEqual(got, want, `${spec.table}.${f.name}: values row for row`);
  });
  return t.numRows;
}

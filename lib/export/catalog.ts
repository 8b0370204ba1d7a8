/**
 * What can be exported, read from the database's own catalog on every request, so tables and
 * views that other parts of tapline add later are exportable without a code change. The
 * allow-list is: ordinary/partitioned tables (hypertables included), views (continuous
 * aggregates included) and materialized views in schema `public`, except tapline's bookkeeping.
 * Names given by a user are only ever compared with these catalog names; SQL is built from the
 * catalog's spelling, quoted.
 */
import type { Pool } from 'pg';
import { TaplineError } from '../errors';

/** Bookkeeping tables that are not data. */
const HIDDEN = new Set(['tapline_migrations']);

export interface PgColumn {
  name: string;
  /** format_type() of the declared type, e.g. `timestamp with time zone`, `inet[]`. */
  declared: string;
  /** pg_type.typname of the (domain-resolved) type, e.g. `timestamptz`, `_inet`. */
  typname: string;
  /** 'e' for enums; see pg_type.typtype. */
  typtype: string;
  /** For arrays: the element's typname and typtype; null otherwise. */
  elem: { typname: string; typtype: string } | null;
  notNull: boolean;
}

export interface PgRelation {
  name: string;
  kind: 'table' | 'view' | 'materialized view';
  columns: PgColumn[];
  /** Where the time column came from, for messages. */
  timeColumn: { name: string; source: 'hypertable' | 'continuous aggregate' | 'first timestamp column' } | null;
  /** Primary key (or first plain unique index) columns, in index order; empty for views. */
  keyColumns: string[];
}

export const TIMESTAMP_TYPES = new Set(['timestamptz', 'timestamp']);

export async function listExportable(pool: Pool): Promise<string[]> {
  const r = await pool.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY 1`);
  return r.rows.map((x) => x.relname).filter((n) => !HIDDEN.has(n));
}

/** The relation called exactly `name` in the allow-list; EXPORT_INVALID (listing the choices) otherwise. */
export async function describeRelation(pool: Pool, name: string): Promise<PgRelation> {
  const rel = await pool.query<{ oid: number; relkind: string }>(
    `SELECT c.oid::int AS oid, c.relkind::text AS relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') AND c.relname = $1`, [name]);
  if (rel.rows.length === 0 || HIDDEN.has(name)) {
    const known = await listExportable(pool);
    throw new TaplineError('EXPORT_INVALID', 'export',
      `unknown table "${name}": exportable tables and views are ${known.length ? known.join(', ') : '(none yet: run the pipeline first)'}`);
  }
  const { oid, relkind } = rel.rows[0];
  const cols = await pool.query<{ name: string; declared: string; typname: string; typtype: string; elem_typname: string | null; elem_typtype: string | null; notnull: boolean }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS declared, t.typname::text AS typname, t.typtype::text AS typtype,
            et.typname::text AS elem_typname, et.typtype::text AS elem_typtype, a.attnotnull AS notnull
       FROM pg_attribute a
       JOIN pg_type dt ON dt.oid = a.atttypid
       JOIN pg_type t ON t.oid = CASE WHEN dt.typtype = 'd' THEN dt.typbasetype ELSE dt.oid END
       LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`, [oid]);
  const columns: PgColumn[] = cols.rows.map((c) => ({
    name: c.name, declared: c.declared, typname: c.typname, typtype: c.typtype, notNull: c.notnull,
    elem: c.elem_typname ? { typname: c.elem_typname, typtype: c.elem_typtype ?? 'b' } : null,
  }));
  const kind = relkind === 'v' ? 'view' : relkind === 'm' ? 'materialized view' : 'table';
  return { name, kind, columns, timeColumn: await findTimeColumn(pool, name, columns), keyColumns: await keyColumns(pool, oid) };
}

/**
 * The column a time range applies to: a hypertable's time dimension, a continuous aggregate's
 * bucket (its materialization hypertable's dimension, which has the view column's name), or
 * else the first timestamp column.
 */
async function findTimeColumn(pool: Pool, name: string, columns: PgColumn[]): Promise<PgRelation['timeColumn']> {
  const isTs = (n: string) => columns.some((c) => c.name === n && TIMESTAMP_TYPES.has(c.typname));
  try {
    const h = await pool.query<{ column_name: string }>(
      `SELECT column_name FROM timescaledb_information.dimensions
        WHERE hypertable_schema = 'public' AND hypertable_name = $1 AND dimension_type = 'Time' ORDER BY dimension_number LIMIT 1`, [name]);
    if (h.rows[0] && isTs(h.rows[0].column_name)) return { name: h.rows[0].column_name, source: 'hypertable' };
    const ca = await pool.query<{ column_name: string }>(
      `SELECT d.column_name FROM timescaledb_information.continuous_aggregates ca
         JOIN timescaledb_information.dimensions d
           ON d.hypertable_schema = ca.materialization_hypertable_schema AND d.hypertable_name = ca.materialization_hypertable_name
        WHERE ca.view_schema = 'public' AND ca.view_name = $1 AND d.dimension_type = 'Time' ORDER BY d.dimension_number LIMIT 1`, [name]);
    if (ca.rows[0] && isTs(ca.rows[0].column_name)) return { name: ca.rows[0].column_name, source: 'continuous aggregate' };
  } catch {
    // No timescaledb_information (a plain PostgreSQL): fall back to the columns.
  }
  const first = columns.find((c) => TIMESTAMP_TYPES.has(c.typname));
  return first ? { name: first.name, source: 'first timestamp column' } : null;
}

async function keyColumns(pool: Pool, oid: number): Promise<string[]> {
  // Primary key first, else the first unique index on plain columns (no expressions, no predicate).
  const r = await pool.query<{ cols: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY k.ord) AS cols
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND (i.indisprimary OR i.indisunique) AND i.indpred IS NULL AND i.indexprs IS NULL
      GROUP BY i.indexrelid, i.indisprimary
      ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1`, [oid]);
  return r.rows[0]?.cols ?? [];
}

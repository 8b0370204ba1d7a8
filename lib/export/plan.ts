/**
 * An export request checked against the catalog and turned into one parameterised page query.
 * Nothing the user typed reaches the SQL text: table and column names are replaced by the
 * catalog's own spelling (quoted), times are bound parameters.
 */
import type { Pool } from 'pg';
import { Schema, type Field } from 'apache-arrow';
import { TaplineError } from '../errors';
import { describeRelation, TIMESTAMP_TYPES, type PgColumn, type PgRelation } from './catalog';
import { arrowField, columnMapping, type ColumnMapping } from './arrow-types';
import { microsToIso, parseTimeToMicros } from './time';

export interface ExportRequest {
  table: string;
  /** ISO 8601; inclusive. Omitted: from the first row. */
  from?: string;
  /** ISO 8601; exclusive. Omitted: to the last row. */
  to?: string;
  /** Column names in the wanted order; omitted or empty: all, in table order. */
  columns?: string[];
  /** Filter and page on this timestamp column instead of the detected one. */
  timeColumn?: string;
}

export interface PlannedColumn { pg: PgColumn; map: ColumnMapping; field: Field }

export interface ExportPlan {
  relation: PgRelation;
  timeColumn: PgColumn;
  fromUs: bigint | null;
  toUs: bigint | null;
  columns: PlannedColumn[];
  schema: Schema;
  /** Page query: $1 lower bound (inclusive), $2 upper bound (exclusive), $3 limit, $4 offset. */
  sql: string;
  /** Whether $1/$2 are timestamptz (else timestamp without time zone). */
  withZone: boolean;
}

const bad = (msg: string) => new TaplineError('EXPORT_INVALID', 'export', msg);

/** "name" with embedded quotes doubled: safe for any catalog name. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function planExport(pool: Pool, req: ExportRequest): Promise<ExportPlan> {
  if (typeof req.table !== 'string' || req.table === '') throw bad('a table is required');
  const fromUs = req.from !== undefined && req.from !== '' ? parseTimeToMicros(req.from, 'from') : null;
  const toUs = req.to !== undefined && req.to !== '' ? parseTimeToMicros(req.to, 'to') : null;
  if (fromUs !== null && toUs !== null && fromUs > toUs) {
    throw bad(`from (${microsToIso(fromUs)}) is after to (${microsToIso(toUs)})`);
  }
  const relation = await describeRelation(pool, req.table);
  const byName = new Map(relation.columns.map((c) => [c.name, c]));
  const names = (req.columns ?? []).map((c) => c.trim()).filter((c) => c !== '');
  const seen = new Set<string>();
  for (const n of names) {
    if (!byName.has(n)) throw bad(`unknown column "${n}" in ${relation.name}: its columns are ${relation.columns.map((c) => c.name).join(', ')}`);
    if (seen.has(n)) throw bad(`column "${n}" is listed twice`);
    seen.add(n);
  }
  const chosen = names.length ? names.map((n) => byName.get(n) as PgColumn) : relation.columns;

  let timeColumn: PgColumn;
  if (req.timeColumn) {
    const c = byName.get(req.timeColumn);
    if (!c || !TIMESTAMP_TYPES.has(c.typname)) {
      const ts = relation.columns.filter((x) => TIMESTAMP_TYPES.has(x.typname)).map((x) => x.name);
      throw bad(`time column "${req.timeColumn}" is not a timestamp column of ${relation.name} (those are: ${ts.join(', ') || 'none'})`);
    }
    timeColumn = c;
  } else if (relation.timeColumn) {
    timeColumn = byName.get(relation.timeColumn.name) as PgColumn;
  } else {
    throw bad(`${relation.name} has no timestamp column to export a time range of`);
  }

  const columns = chosen.map((pg) => {
    const map = columnMapping(pg);
    return { pg, map, field: arrowField(pg, map) };
  });
  const metadata = new Map([
    ['tapline.table', relation.name],
    ['tapline.time_column', timeColumn.name],
    ['tapline.from', fromUs === null ? '' : microsToIso(fromUs)],
    ['tapline.to', toUs === null ? '' : microsToIso(toUs)],
  ]);
  const schema = new Schema(columns.map((c) => c.field), metadata);
  const withZone = timeColumn.typname === 'timestamptz';
  return { relation, timeColumn, fromUs, toUs, columns, schema, sql: pageSql(relation, timeColumn, columns, withZone), withZone };
}

/**
 * One batch = one row of binary arrays. The page is materialized in the sort order, numbered,
 * and every array_agg reads it in that order (a CTE scan returns the rows in the order they were
 * stored), so all columns line up. List columns travel as per-row lengths plus all elements
 * flattened in (row, position) order.
 *
 * Rows are ordered by the time column, then the primary key (or, without one, every column):
 * a total order, so "skip the first k rows at timestamp L" means the same rows on every page
 * (see pages.ts).
 */
function pageSql(rel: PgRelation, time: PgColumn, cols: PlannedColumn[], withZone: boolean): string {
  const t = quoteIdent(time.name);
  const cast = withZone ? 'timestamptz' : 'timestamp';
  const tiebreak = rel.keyColumns.length
    ? rel.keyColumns.filter((k) => k !== time.name).map(quoteIdent)
    : rel.columns.filter((c) => c.name !== time.name).map((c) => columnMapping(c).orderBy(quoteIdent(c.name)));
  const select = [`${t} AS __t`, ...cols.map((c, i) => `${quoteIdent(c.pg.name)} AS c${i}`)];
  const aggs = ['count(*)::int4', 'array_send(array_agg(__t))'];
  cols.forEach((c, i) => {
    if (!c.map.list) {
      aggs.push(`array_send(array_agg(${c.map.toWire(`c${i}`)}))`);
    } else {
      aggs.push(`array_send(array_agg(cardinality(c${i})))`);
      aggs.push(`(SELECT array_send(array_agg(${c.map.toWire('u.e')} ORDER BY q.__rn, u.o)) FROM numbered q CROSS JOIN LATERAL unnest(q.c${i}) WITH ORDINALITY AS u(e, o))`);
    }
  });
  return `WITH page AS MATERIALIZED (
  SELECT ${select.join(', ')} FROM public.${quoteIdent(rel.name)}
   WHERE ${t} >= $1::${cast} AND ${t} < $2::${cast}
   ORDER BY ${[t, ...tiebreak].join(', ')} LIMIT $3 OFFSET $4),
numbered AS MATERIALIZED (SELECT *, row_number() OVER () AS __rn FROM page)
SELECT ${aggs.join(',\n       ')}
  FROM numbered`;
}

/**
 * Database columns derived from an Avro record schema, by the rules every tapline table follows
 * (docs: pipelines/sinks/timescale/README.md). The sink builds its rows from this list and the
 * schema test compares it with the migrated database, so a schema change without a migration
 * (or the reverse) fails CI instead of silently dropping a field.
 *
 * Rules:
 * - same names; nested records are flattened with `_` (tcp_ab.retransmissions -> tcp_ab_retransmissions);
 * - event-time fields (TIMESTAMP_FIELDS, Avro long nanoseconds) become `timestamptz` named without
 *   `_ns` (window_start_ns -> window_start); durations keep `_ns` and their numeric type;
 * - long -> bigint, int -> integer, double -> double precision, float -> real, boolean -> boolean,
 *   string -> text (inet for the address fields in INET_FIELDS), enum -> text, bytes -> bytea,
 *   map -> jsonb, array of string -> text[] (inet[] for INET_FIELDS), array of int/long/double
 *   -> integer[]/bigint[]/double precision[], anything else -> jsonb;
 * - a union with null makes the column (and every column of a flattened record) nullable;
 * - records named in SKIPPED_RECORDS are not columns (DDSketch bins go to rtt_sketch_bins).
 */
import { schemaJson } from '../../schemas';

/** Avro long fields holding an event time in ns since the epoch (VmEvent.at has no suffix). */
export const TIMESTAMP_FIELDS = new Set([
  'window_start_ns', 'window_end_ns', 'first_seen_ns', 'last_seen_ns', 'ts_ns', 'started_ns',
  'interval_start_ns', 'interval_end_ns', 'valid_from_ns', 'request_ts_ns', 'updated_ns', 'at',
]);
/** String fields holding an IP address (IPv4 or IPv6 text form). */
export const INET_FIELDS = new Set(['addr_a', 'addr_b', 'src_ip', 'dst_ip', 'agent', 'ips']);
export const SKIPPED_RECORDS = new Set(['DDSketchBins']);

export type Conv = 'ts' | 'long' | 'num' | 'bool' | 'text' | 'inet' | 'json' | 'array' | 'bytes';

export interface ColumnDef {
  name: string;
  /** PostgreSQL type as information_schema shows it (udt name for arrays, e.g. `_text`). */
  pgType: string;
  nullable: boolean;
  /** Where the value is in the decoded record: field names from the root. */
  path: string[];
  conv: Conv;
  doc?: string;
}

type AvroSchema = string | AvroSchema[] | { type: string | AvroSchema; name?: string; fields?: AvroField[]; items?: AvroSchema; values?: AvroSchema; symbols?: string[] };
interface AvroField { name: string; type: AvroSchema; doc?: string }

const PRIMITIVE: Record<string, { pgType: string; conv: Conv }> = {
  long: { pgType: 'bigint', conv: 'long' },
  int: { pgType: 'integer', conv: 'num' },
  double: { pgType: 'double precision', conv: 'num' },
  float: { pgType: 'real', conv: 'num' },
  boolean: { pgType: 'boolean', conv: 'bool' },
  string: { pgType: 'text', conv: 'text' },
  bytes: { pgType: 'bytea', conv: 'bytes' },
};
const ARRAY_OF: Record<string, string> = { string: '_text', int: '_int4', long: '_int8', double: '_float8' };

/** Columns of one Avro record schema file (e.g. 'flow-window.v1'). */
export function avroColumns(schemaName: string): ColumnDef[] {
  const root = schemaJson(schemaName) as { fields: AvroField[]; name: string };
  const named = new Map<string, AvroSchema>();
  const out: ColumnDef[] = [];
  walk(root.fields, [], '', false, named, out);
  return out;
}

function walk(fields: AvroField[], path: string[], prefix: string, nullable: boolean, named: Map<string, AvroSchema>, out: ColumnDef[]): void {
  for (const f of fields) {
    let t = f.type;
    let isNull = nullable;
    if (Array.isArray(t)) {
      const rest = t.filter((x) => x !== 'null');
      if (rest.length !== 1) throw new Error(`unsupported union in field ${f.name}: ${JSON.stringify(t)}`);
      isNull = isNull || rest.length < t.length;
      t = rest[0];
    }
    t = resolve(t, named);
    const name = prefix + f.name;
    const p = [...path, f.name];
    if (typeof t === 'object' && !Array.isArray(t) && t.type === 'record') {
      if (SKIPPED_RECORDS.has(t.name ?? '')) continue;
      walk(t.fields ?? [], p, `${name}_`, isNull, named, out);
      continue;
    }
    out.push({ ...columnType(f.name, t, named), name: columnName(name, f.name, t), nullable: isNull, path: p, ...(f.doc ? { doc: f.doc } : {}) });
  }
}

/** Registers named types on first sight and resolves references to them. */
function resolve(t: AvroSchema, named: Map<string, AvroSchema>): AvroSchema {
  if (typeof t === 'string') return PRIMITIVE[t] ? t : (named.get(t) ?? named.get(t.split('.').pop()!) ?? fail(`unknown type ${t}`));
  if (!Array.isArray(t) && typeof t.type === 'object') return resolve(t.type, named);
  if (!Array.isArray(t) && t.name) named.set(t.name, t);
  return t;
}

function fail(msg: string): never { throw new Error(msg); }

function isTimestamp(field: string, t: AvroSchema): boolean {
  return TIMESTAMP_FIELDS.has(field) && t === 'long';
}

function columnName(flat: string, field: string, t: AvroSchema): string {
  return isTimestamp(field, t) && flat.endsWith('_ns') ? flat.slice(0, -3) : flat;
}

function columnType(field: string, t: AvroSchema, named: Map<string, AvroSchema>): { pgType: string; conv: Conv } {
  if (isTimestamp(field, t)) return { pgType: 'timestamp with time zone', conv: 'ts' };
  if (typeof t === 'string') {
    if (t === 'string' && INET_FIELDS.has(field)) return { pgType: 'inet', conv: 'inet' };
    return PRIMITIVE[t];
  }
  if (Array.isArray(t)) return { pgType: 'jsonb', conv: 'json' };
  if (t.type === 'enum') return { pgType: 'text', conv: 'text' };
  if (t.type === 'map') return { pgType: 'jsonb', conv: 'json' };
  if (t.type === 'array') {
    const items = resolve(t.items!, named);
    if (typeof items === 'string' && ARRAY_OF[items]) {
      return { pgType: items === 'string' && INET_FIELDS.has(field) ? '_inet' : ARRAY_OF[items], conv: 'array' };
    }
    return { pgType: 'jsonb', conv: 'json' };
  }
  return { pgType: 'jsonb', conv: 'json' };
}

/** SQL type for DDL and casts (`_text` -> `text[]`). */
export function sqlType(pgType: string): string {
  const arr: Record<string, string> = { _text: 'text[]', _inet: 'inet[]', _int4: 'integer[]', _int8: 'bigint[]', _float8: 'double precision[]' };
  return arr[pgType] ?? (pgType === 'timestamp with time zone' ? 'timestamptz' : pgType);
}

/**
 * PostgreSQL column types -> Arrow types, and the SQL that turns a column into what travels.
 *
 * Values travel as binary PostgreSQL arrays (array_send), one array per column per batch, so
 * only a few wire types need decoding (see decode.ts): bool, int2/4/8, float4/8, timestamp(tz),
 * date and text. Every other type is converted in SQL first:
 *   numeric                  -> float8 (Arrow Float64; see docs/export.md for why not Decimal)
 *   inet                     -> abbrev(x): exactly inet's text output (10.0.0.1, not 10.0.0.1/32)
 *   text, varchar, name, enum -> x::text
 *   anything else (cidr, macaddr, uuid, json, jsonb, interval, ...) -> format('%s', x): the type's
 *                               own text output, as psql shows it (jsonb as JSON text)
 * Arrays of any of these become Arrow List<element type>.
 */
import {
  Bool, DataType, DateDay, Field, Float32, Float64, Int16, Int32, Int64, List, TimestampMicrosecond, Utf8,
} from 'apache-arrow';
import type { PgColumn } from './catalog';

/** What a value is on the wire (element type of the binary array). */
export type WireKind = 'bool' | 'int16' | 'int32' | 'int64' | 'float32' | 'float64' | 'timestamp' | 'date' | 'utf8';

export interface ScalarMapping {
  wire: WireKind;
  arrow: DataType;
  /** SQL turning a value reference (already quoted) into the wire type. */
  toWire: (ref: string) => string;
  /** SQL for ORDER BY: types without a btree ordering (json, ...) sort by their text. */
  orderBy: (ref: string) => string;
}

export interface ColumnMapping extends ScalarMapping {
  list: boolean;
  /** For lists, the element's mapping. */
  element: ScalarMapping | null;
}

const same = (ref: string) => ref;
const asText = (ref: string) => `format('%s', ${ref})`;

/** Scalar types that keep their own wire form. */
const NATIVE: Record<string, { wire: WireKind; arrow: () => DataType }> = {
  bool: { wire: 'bool', arrow: () => new Bool() },
  int2: { wire: 'int16', arrow: () => new Int16() },
  int4: { wire: 'int32', arrow: () => new Int32() },
  int8: { wire: 'int64', arrow: () => new Int64() },
  float4: { wire: 'float32', arrow: () => new Float32() },
  float8: { wire: 'float64', arrow: () => new Float64() },
  timestamptz: { wire: 'timestamp', arrow: () => new TimestampMicrosecond('UTC') },
  timestamp: { wire: 'timestamp', arrow: () => new TimestampMicrosecond() },
  date: { wire: 'date', arrow: () => new DateDay() },
};

/** Types whose ::text cast is their text output (CoerceViaIO or binary coercible). */
const TEXT_CAST = new Set(['text', 'varchar', 'name', 'citext']);
/** Types with a btree ordering we can ORDER BY directly (the rest sort by their text). */
const ORDERABLE = new Set([
  ...Object.keys(NATIVE), 'numeric', 'text', 'varchar', 'name', 'citext', 'bpchar', 'inet', 'cidr', 'macaddr', 'macaddr8',
  'uuid', 'jsonb', 'interval', 'time', 'timetz', 'bytea', 'oid', 'money', 'bit', 'varbit', 'char',
]);

export function scalarMapping(typname: string, typtype: string): ScalarMapping {
  const orderable = ORDERABLE.has(typname) || typtype === 'e';
  const orderBy = orderable ? same : (ref: string) => `${ref}::text`;
  const native = NATIVE[typname];
  if (native) return { wire: native.wire, arrow: native.arrow(), toWire: same, orderBy };
  if (typname === 'numeric') return { wire: 'float64', arrow: new Float64(), toWire: (r) => `${r}::float8`, orderBy };
  if (typname === 'inet') return { wire: 'utf8', arrow: new Utf8(), toWire: (r) => `abbrev(${r})`, orderBy };
  if (TEXT_CAST.has(typname) || typtype === 'e') return { wire: 'utf8', arrow: new Utf8(), toWire: (r) => `${r}::text`, orderBy };
  return { wire: 'utf8', arrow: new Utf8(), toWire: asText, orderBy };
}

export function columnMapping(c: PgColumn): ColumnMapping {
  if (c.elem) {
    const element = scalarMapping(c.elem.typname, c.elem.typtype);
    const elemOrderable = element.orderBy('x') === 'x';
    return {
      list: true, element, wire: element.wire,
      arrow: new List(new Field('item', element.arrow, true)),
      toWire: element.toWire,
      orderBy: elemOrderable ? same : (ref) => `${ref}::text`,
    };
  }
  return { ...scalarMapping(c.typname, c.typtype), list: false, element: null };
}

/** The Arrow field of a column; metadata keeps the PostgreSQL type for readers who care. */
export function arrowField(c: PgColumn, m: ColumnMapping): Field {
  return new Field(c.name, m.arrow, !c.notNull, new Map([['pg_type', c.declared]]));
}

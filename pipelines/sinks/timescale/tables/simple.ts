/**
 * The common case: one Avro record -> one row of one table, columns exactly as derived from the
 * schema (lib/db/avro-columns.ts).
 */
import { avroColumns } from '../../../../lib/db/avro-columns';
import { rowBuilder } from './convert';
import type { TableSpec, Target } from './types';

export function simpleSpec(name: string, schema: string, defaultTopic: string, conflictKey: string[],
  extra: Partial<Omit<Target, 'table' | 'columns' | 'conflictKey'>> & Pick<TableSpec, 'tombstones' | 'topicSettings'> = {}): TableSpec {
  const columns = avroColumns(schema);
  for (const k of conflictKey) if (!columns.some((c) => c.name === k)) throw new Error(`${name}: conflict key column ${k} is not in ${schema}`);
  const row = rowBuilder(columns);
  const { tombstones, topicSettings, ...target } = extra;
  return {
    name, schema, defaultTopic, ...(tombstones ? { tombstones } : {}), ...(topicSettings ? { topicSettings } : {}),
    targets: [{ table: name, columns, conflictKey, ...target }],
    rows: (rec, _ctx, out) => out(0, row(rec)),
  };
}

/**
 * DDL for a sink target, from its columns (derived from the Avro schema): what a new migration
 * starts from. `npx tsx pipelines/sinks/timescale/ddl.ts <table> [time column] [chunk interval]`
 * prints it; migrations are then committed as files (reviewed, commented, never regenerated),
 * and test/sink-tables.test.ts checks that they still match the schemas.
 */
import { sqlType } from '../../../lib/db/avro-columns';
import { TABLE_SPECS } from './tables';
import type { Target } from './tables/types';

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function createTableSql(t: Target, timeColumn: string, chunk = '1 day'): string {
  const cols = t.columns.map((c) => `  "${c.name}" ${sqlType(c.pgType)}${c.nullable ? '' : ' NOT NULL'}`);
  const lines = [
    `CREATE TABLE IF NOT EXISTS ${t.table} (`,
    [...cols, `  PRIMARY KEY (${t.conflictKey.join(', ')})`].join(',\n'),
    ');',
    `SELECT create_hypertable('${t.table}', by_range('${timeColumn}', INTERVAL '${chunk}'), if_not_exists => TRUE);`,
  ];
  for (const c of t.columns) if (c.doc) lines.push(`COMMENT ON COLUMN ${t.table}."${c.name}" IS ${q(c.doc)};`);
  return lines.join('\n');
}

if (require.main === module) {
  const [table, time = 'window_start', chunk = '1 day'] = process.argv.slice(2);
  const target = TABLE_SPECS.flatMap((s) => s.targets).find((t) => t.table === table);
  if (!target) throw new Error(`no sink target ${table}`);
  process.stdout.write(`${createTableSql(target, time, chunk)}\n`);
}

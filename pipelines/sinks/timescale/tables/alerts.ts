/**
 * tapline.alerts.v1 (Alert) -> alerts (one row per occurrence, its latest state) and
 * alert_states (every state record, the history). An older state never overwrites a newer one
 * (replays of an old range, or states read out of order). acked_at, acked_by and resolved_by
 * belong to the dashboard: the sink's upsert never names them, so it never overwrites them.
 */
import { avroColumns } from '../../../../lib/db/avro-columns';
import { rowBuilder } from './convert';
import type { TableSpec } from './types';

const columns = avroColumns('alert.v1');
const row = rowBuilder(columns);
export const ALERT_DASHBOARD_COLUMNS = ['acked_at', 'acked_by', 'resolved_by'];

export const alerts: TableSpec = {
  name: 'alerts',
  schema: 'alert.v1',
  defaultTopic: 'tapline.alerts.v1',
  topicSettings: { compacted: true },
  targets: [
    { table: 'alerts', columns, conflictKey: ['id', 'first_seen'], updateWhere: 'alerts.updated <= EXCLUDED.updated', dbOnlyColumns: ALERT_DASHBOARD_COLUMNS },
    { table: 'alert_states', columns, conflictKey: ['id', 'updated', 'state'], onConflict: 'nothing' },
  ],
  rows(rec, _ctx, out) {
    const r = row(rec);
    out(0, r);
    out(1, r);
  },
};

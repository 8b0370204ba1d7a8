/** Sink `timescale`: FlowWindow records -> flow_windows hypertable (idempotent upserts). */
export { TimescaleSink, migrateSinkSchema, MIGRATIONS_DIR, type SinkOptions } from './sink';
export { TimescaleSinkConfigSchema, type TimescaleSinkConfig } from './config';
export { nsToIso, flowRow } from './rows';

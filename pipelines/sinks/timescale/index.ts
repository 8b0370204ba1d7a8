/** Sink `timescale`: the stage topics -> their hypertables (idempotent upserts), one TableSpec per topic (tables/). */
export { TimescaleSink, migrateSinkSchema, sinkTopics, sinkConfigFrom, MIGRATIONS_DIR, type SinkOptions } from './sink';
export { TimescaleSinkConfigSchema, type TimescaleSinkConfig } from './config';
export { TABLE_SPECS, SPEC_NAMES, tableSpec, type TableSpec, type Target } from './tables';
export { nsToIso } from './rows';

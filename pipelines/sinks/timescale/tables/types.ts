/**
 * A TableSpec says how one topic lands in the database: which Avro schema its messages use,
 * which table(s) receive rows (a FlowMetrics record also yields its sketch bins; an Alert both
 * its current row and its history row), the conflict key that makes replays idempotent, and
 * how a decoded record becomes rows.
 */
import type { ColumnDef } from '../../../../lib/db/avro-columns';

export interface Target {
  table: string;
  /** Columns the sink writes, in row order. */
  columns: ColumnDef[];
  /** The table's primary key: a replayed record hits it and upserts instead of duplicating. */
  conflictKey: string[];
  /** 'update' (default): the replayed row replaces the stored one; 'nothing': rows are immutable history. */
  onConflict?: 'update' | 'nothing';
  /** Extra condition on DO UPDATE (e.g. never go back to an older alert state). Table alias: the table name. */
  updateWhere?: string;
  /** Columns that exist in the table but the sink never writes (the dashboard does). */
  dbOnlyColumns?: string[];
}

export interface RowContext {
  /** The message value as read from Kafka (header included). */
  raw: Buffer;
  /** How many messages right before this one in its partition had exactly the same bytes. */
  repeat: number;
}

/** Receives the rows of one record: `target` indexes TableSpec.targets. */
export type RowOut = (target: number, row: unknown[]) => void;

export interface TableSpec<T = Record<string, unknown>> {
  /** Name used in configuration (sink.tables, sink.topics); the main table's name. */
  name: string;
  defaultTopic: string;
  /** Avro schema file name (schemas/<schema>.avsc). */
  schema: string;
  targets: Target[];
  /** How the topic is created when missing (default: the configured partition count, not compacted). */
  topicSettings?: { partitions?: number; compacted?: boolean };
  /** 'skip': a null value (compaction tombstone) is expected and counted, not dead-lettered. */
  tombstones?: 'skip';
  /**
   * The rows depend on RowContext.repeat (l7_events' event_id): the sink then commits a slice's
   * offsets at the start of its trailing run of identical records, so that a restart or a new
   * owner of the partition reads the whole run again and numbers it as an uninterrupted run did.
   */
  usesRepeat?: boolean;
  rows(record: T, ctx: RowContext, out: RowOut): void;
}

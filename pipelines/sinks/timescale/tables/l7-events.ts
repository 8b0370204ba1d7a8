/**
 * tapline.l7.v1 (L7Event, parse stage) -> l7_events, dns/http/tls flattened (dns_id, http_path,
 * tls_sni, ...). No combination of the event's own fields is unique: two pipelined HTTP requests
 * in one segment share flow, time, kind and may be byte-identical. So the key ends in event_id:
 * a digest of the record's Avro body (distinct events differ in it; a replay yields the same
 * digest) plus, for byte-identical records that follow each other in the partition (the stage
 * emits the events of one packet consecutively), their ordinal: `<sha1 prefix>:<n>`.
 */
import crypto from 'node:crypto';
import { avroColumns, type ColumnDef } from '../../../../lib/db/avro-columns';
import { rowBuilder } from './convert';
import type { TableSpec } from './types';

const EVENT_ID: ColumnDef = { name: 'event_id', pgType: 'text', conv: 'text', nullable: false, path: [] };
const avro = avroColumns('l7-event.v1');
const row = rowBuilder(avro);

/** Avro body of a message: after the single-object header (10 bytes) or the registry header (5). */
function body(raw: Buffer): Buffer { return raw.subarray(raw[0] === 0x00 ? 5 : 10); }

export function l7EventId(raw: Buffer, repeat: number): string {
  return `${crypto.createHash('sha1').update(body(raw)).digest('hex').slice(0, 20)}:${repeat}`;
}

export const l7Events: TableSpec = {
  name: 'l7_events',
  schema: 'l7-event.v1',
  defaultTopic: 'tapline.l7.v1',
  usesRepeat: true,
  targets: [{ table: 'l7_events', columns: [...avro, EVENT_ID], conflictKey: ['flow_key', 'observation_point', 'ts', 'kind', 'event_id'] }],
  rows(rec, ctx, out) {
    const r = row(rec);
    r.push(l7EventId(ctx.raw, ctx.repeat));
    out(0, r);
  },
};

/** Unit tests of the sink's own logic: topic/table configuration, SQL shape, value conversion. */
import assert from 'node:assert/strict';
import { sinkTopics, SPEC_NAMES, tableSpec, type TimescaleSinkConfig } from '../pipelines/sinks/timescale';
import { unnestUpsertSql } from '../pipelines/sinks/timescale/batch-writer';
import { pgArray, rowBuilder } from '../pipelines/sinks/timescale/tables/convert';
import { l7EventId } from '../pipelines/sinks/timescale/tables/l7-events';
import { avroColumns } from '../lib/db/avro-columns';
import { AvroCodec } from '../schemas';
import { isTaplineError } from '../lib/errors';

describe('sink configuration and rows', () => {
  it('fills every table by default, from each table\'s default topic', () => {
    const t = sinkTopics({});
    assert.deepEqual([...t.values()].map((s) => s.name).sort(), [...SPEC_NAMES].sort());
    assert.equal(t.get('tapline.flow-metrics.v1')?.name, 'flow_metrics');
    assert.equal(SPEC_NAMES.length, 12);
  });

  it('keeps the legacy single-topic form (flow windows only) and honours tables/topics', () => {
    assert.deepEqual([...sinkTopics({ topic: 'x.flows' })].map(([k, v]) => [k, v.name]), [['x.flows', 'flow_windows']]);
    assert.deepEqual([...sinkTopics({ tables: ['alerts'], topics: { alerts: 'a.v1' } })].map(([k, v]) => [k, v.name]), [['a.v1', 'alerts']]);
  });

  it('rejects unknown tables and one topic for two tables with CONFIG_INVALID', () => {
    const bad: TimescaleSinkConfig[] = [{ tables: ['flows'] }, { topics: { nope: 't' } }, { tables: ['rollups', 'alerts'], topics: { rollups: 't', alerts: 't' } }];
    for (const cfg of bad) {
      assert.throws(() => sinkTopics(cfg), (e: unknown) => isTaplineError(e) && e.code === 'CONFIG_INVALID', JSON.stringify(cfg));
    }
    assert.throws(() => sinkTopics({ batchSize: 0 } as never));
  });

  it('alerts: the upsert never names the dashboard columns and never goes back to an older state', () => {
    const [current, history] = tableSpec('alerts').targets;
    const sql = unnestUpsertSql(current);
    assert.doesNotMatch(sql, /acked|resolved_by/);
    assert.match(sql, /ON CONFLICT \("id","first_seen"\) DO UPDATE SET .* WHERE alerts\.updated <= EXCLUDED\.updated$/);
    assert.match(sql, /\$23::text\[\]/, 'jsonb travels as text');
    assert.match(sql, /c22::jsonb/);
    assert.match(unnestUpsertSql(history), /DO NOTHING$/);
  });

  it('converts nested, nullable, array and map values', () => {
    assert.equal(pgArray(['a', 'b"c', 'd\\e', null]), '{"a","b\\"c","d\\\\e",NULL}');
    assert.equal(pgArray([1, 2]), '{1,2}');
    const cols = avroColumns('l7-event.v1');
    const row = rowBuilder(cols)({ ts_ns: 1_389_719_041_819_644_999n, request_ts_ns: null, tunnel_id: 5n, dns: null,
      tls: { supported_versions: [772, 771], alpn: ['h2'], sni: null } });
    const get = (n: string) => row[cols.findIndex((c) => c.name === n)];
    assert.equal(get('ts'), '2014-01-14T17:04:01.819644Z');
    assert.equal(get('request_ts'), null);
    assert.equal(get('tunnel_id'), 5, 'a long that fits a double exactly is a number');
    assert.equal(rowBuilder(cols)({ ts_ns: 0n, tunnel_id: 2n ** 60n })[cols.findIndex((c) => c.name === 'tunnel_id')], '1152921504606846976', 'a larger one keeps its digits');
    assert.equal(get('dns_id'), null, 'a null nested record gives null columns');
    assert.equal(get('tls_supported_versions'), '{772,771}');
    assert.equal(get('tls_alpn'), '{"h2"}');
  });

  it('l7 event ids: equal bytes give equal digests, the ordinal tells repeats apart, the wire header does not matter', () => {
    const c = new AvroCodec('vm-event.v1');
    const a = c.encode({ type: 'migration', vm: 'v', vm_name: null, from_host: 'a', to_host: 'b', at: 1n, source: 'inventory', observation_point: null });
    const b = c.encode({ type: 'migration', vm: 'v', vm_name: null, from_host: 'a', to_host: 'c', at: 1n, source: 'inventory', observation_point: null });
    assert.equal(l7EventId(a, 0), l7EventId(Buffer.from(a), 0));
    assert.notEqual(l7EventId(a, 0), l7EventId(a, 1));
    assert.notEqual(l7EventId(a, 0), l7EventId(b, 0));
    const registryFramed = Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), a.subarray(10)]);
    assert.equal(l7EventId(registryFramed, 0), l7EventId(a, 0));
  });
});

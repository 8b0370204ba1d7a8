/** The Alert schema loads, round-trips a full record, and its TS view names the same fields. */
import assert from 'node:assert/strict';
import { AvroCodec, schemaJson } from '.';
import { ALERT_SCHEMA, type Alert } from './alert';

const alert: Alert = {
  id: 'port_scan|t1|10.0.0.5@1700000000000000000', dedup_key: 'port_scan|t1|10.0.0.5', type: 'port_scan', detector: 'detect-scans',
  severity: 'warning', state: 'open', first_seen_ns: 1_700_000_000_000_000_000n, last_seen_ns: 1_700_000_010_000_000_000n,
  updated_ns: 1_700_000_010_000_000_000n, summary: 'vm-a probed 900 ports of 10.0.0.6 in 10 s', tenant: 't1', vm_a: 'vm-a', vm_b: null,
  addr_a: '10.0.0.5', addr_b: null, host_a: 'h1', host_b: null, observation_point: 'mirror:br0', metric: 'distinct_dst_ports',
  value: 900, baseline: null, threshold: 100, evidence: { sample_ports: '22,80,443' },
};

describe('schemas: alert.v1', () => {
  it('round-trips a full record and keeps TS and .avsc field names in step', () => {
    const codec = new AvroCodec<Alert>(ALERT_SCHEMA);
    const back = codec.decode(codec.encode(alert));
    assert.deepEqual({ ...back, first_seen_ns: String(back.first_seen_ns), last_seen_ns: String(back.last_seen_ns), updated_ns: String(back.updated_ns) },
      { ...alert, first_seen_ns: String(alert.first_seen_ns), last_seen_ns: String(alert.last_seen_ns), updated_ns: String(alert.updated_ns) });
    assert.deepEqual(Object.keys(alert), (schemaJson(ALERT_SCHEMA) as { fields: { name: string }[] }).fields.map((f) => f.name));
  });
});

/** The InterfaceCounters and ProbeResult schemas load, fingerprint, and round-trip their TS records. */
import assert from 'node:assert/strict';
import { AvroCodec, schemaJson } from '.';
import { INTERFACE_COUNTERS_SCHEMA, type InterfaceCounters } from './interface-counters';
import { PROBE_RESULT_SCHEMA, type ProbeResult } from './probe-result';

const counters: InterfaceCounters = {
  ts_ns: 1_700_000_000_123_456_789n, observation_point: 'sflow:10.0.0.1/3', agent: '10.0.0.1', sub_agent_id: 0n,
  datagram_sequence: 4_294_967_295n, uptime_ms: 123n, sample_sequence: 9n, source_id_type: 0, source_id_index: 3n,
  generic: {
    if_index: 3n, if_type: 6n, if_speed: 10_000_000_000n, if_direction: 1, if_admin_up: true, if_oper_up: false,
    in_octets: 18_446_744_073_709_551n, in_ucast_pkts: 4_294_967_295n, in_multicast_pkts: 1n, in_broadcast_pkts: 2n, in_discards: 3n, in_errors: 4n, in_unknown_protos: 5n,
    out_octets: 6n, out_ucast_pkts: 7n, out_multicast_pkts: null, out_broadcast_pkts: 9n, out_discards: 10n, out_errors: 11n, promiscuous: false,
  },
  ethernet: null,
};

const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

const probe: ProbeResult = {
  prober: 'probe:vm1', target: '10.0.0.2:7040', kind: 'UDP_ECHO', interval_start_ns: 1n, interval_end_ns: 2n,
  sent: 4, received: 3, lost: 1, rtt_min_ns: 100n, rtt_mean_ns: 200n, rtt_max_ns: 300n, rtt_samples_ns: [100n, 200n, 300n], error: 'timeout',
};

describe('schemas: interface-counters.v1 and probe-result.v1', () => {
  it('round-trip a full record and keep TS and .avsc field names in step', () => {
    for (const [name, rec] of [[INTERFACE_COUNTERS_SCHEMA, counters], [PROBE_RESULT_SCHEMA, probe]] as const) {
      const codec = new AvroCodec<typeof rec>(name);
      assert.deepEqual(JSON.parse(JSON.stringify(codec.decode(codec.encode(rec)), big)), JSON.parse(JSON.stringify(rec, big)));
      const fields = (schemaJson(name) as { fields: { name: string }[] }).fields.map((f) => f.name);
      assert.deepEqual(Object.keys(rec), fields);
    }
    const gen = ((schemaJson(INTERFACE_COUNTERS_SCHEMA) as { fields: { name: string; type: unknown }[] }).fields
      .find((f) => f.name === 'generic')!.type as [string, { fields: { name: string }[] }])[1].fields.map((f) => f.name);
    assert.deepEqual(Object.keys(counters.generic!), gen);
  });
});

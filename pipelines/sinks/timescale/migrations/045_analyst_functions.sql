-- Functions for SQL analysts (docs/sql.md). Each returns a named composite type so that every
-- result column carries a COMMENT (\d+ tapline_top_talker in psql; Grafana shows the names).
-- Time ranges are [from, to), rounded to whole minutes, read from the aggregate hierarchy.

CREATE TYPE tapline_top_talker AS (
  rank integer, vm text, name text, host text, tenant text,
  bytes_sent bigint, bytes_received bigint, bytes_total bigint, packets_total bigint, peers bigint);
COMMENT ON TYPE tapline_top_talker IS 'tapline: one row of top_talkers(from, to, n)';
COMMENT ON COLUMN tapline_top_talker.rank IS '1 = the VM that moved the most bytes (sent + received) in the range';
COMMENT ON COLUMN tapline_top_talker.vm IS 'inventory vm_id';
COMMENT ON COLUMN tapline_top_talker.name IS 'VM name (inventory) as recorded with its traffic';
COMMENT ON COLUMN tapline_top_talker.host IS 'physical host the VM ran on (the latest seen in the range)';
COMMENT ON COLUMN tapline_top_talker.tenant IS 'tenant of the VM';
COMMENT ON COLUMN tapline_top_talker.bytes_sent IS 'wire bytes the VM sent, to VMs and external endpoints';
COMMENT ON COLUMN tapline_top_talker.bytes_received IS 'wire bytes the VM received';
COMMENT ON COLUMN tapline_top_talker.bytes_total IS 'bytes_sent + bytes_received';
COMMENT ON COLUMN tapline_top_talker.packets_total IS 'packets sent + received';
COMMENT ON COLUMN tapline_top_talker.peers IS 'distinct peers: other VMs, plus 1 if it talked to any non-inventory endpoint';

CREATE OR REPLACE FUNCTION top_talkers(p_from timestamptz, p_to timestamptz, p_n integer DEFAULT 10)
  RETURNS SETOF tapline_top_talker LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_n IS NULL OR p_n < 1 THEN
    RAISE EXCEPTION 'top_talkers: n must be a positive number of rows, got %', p_n USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  WITH p AS (SELECT * FROM tapline_traffic_pairs(p_from, p_to)),
  sides AS (
    SELECT p.a_vm vm, p.a_name nm, p.a_host host, p.a_tenant tenant, p.bucket, p.bytes_ab sent, p.bytes_ba recv, p.packets_ab + p.packets_ba pk, coalesce(p.b_vm, '(external)') peer FROM p WHERE p.a_vm IS NOT NULL
    UNION ALL
    SELECT p.b_vm, p.b_name, p.b_host, p.b_tenant, p.bucket, p.bytes_ba, p.bytes_ab, p.packets_ab + p.packets_ba, coalesce(p.a_vm, '(external)') FROM p WHERE p.b_vm IS NOT NULL
  ),
  agg AS (
    SELECT s.vm, max(s.nm) nm, (array_agg(s.host ORDER BY s.bucket DESC))[1] host, max(s.tenant) tenant,
           sum(s.sent)::bigint sent, sum(s.recv)::bigint recv, sum(s.pk)::bigint pk, count(DISTINCT s.peer) peers
      FROM sides s GROUP BY s.vm
  )
  SELECT (row_number() OVER (ORDER BY a.sent + a.recv DESC, a.vm))::integer, a.vm, a.nm, a.host, a.tenant,
         a.sent, a.recv, a.sent + a.recv, a.pk, a.peers
    FROM agg a ORDER BY a.sent + a.recv DESC, a.vm LIMIT p_n;
END
$$;
COMMENT ON FUNCTION top_talkers(timestamptz, timestamptz, integer) IS
  'tapline: the n VMs that moved the most bytes in [from, to) (columns: see COMMENT ON TYPE tapline_top_talker)';

CREATE TYPE tapline_topology_edge AS (
  a text, b text, a_vm text, b_vm text, a_name text, b_name text, a_host text, b_host text, a_tenant text, b_tenant text,
  traffic_class text, bytes_ab bigint, bytes_ba bigint, bytes bigint, packets bigint, flows bigint,
  first_seen timestamptz, last_seen timestamptz);
COMMENT ON TYPE tapline_topology_edge IS 'tapline: one edge of topology_edges(from, to): who talked to whom';
COMMENT ON COLUMN tapline_topology_edge.a IS 'node id of endpoint A: its vm_id, or its IP address when it is not an inventory VM';
COMMENT ON COLUMN tapline_topology_edge.b IS 'node id of endpoint B (as a)';
COMMENT ON COLUMN tapline_topology_edge.a_vm IS 'vm_id of A, NULL for a non-inventory endpoint';
COMMENT ON COLUMN tapline_topology_edge.b_vm IS 'vm_id of B, NULL for a non-inventory endpoint';
COMMENT ON COLUMN tapline_topology_edge.a_name IS 'VM name of A';
COMMENT ON COLUMN tapline_topology_edge.b_name IS 'VM name of B';
COMMENT ON COLUMN tapline_topology_edge.a_host IS 'physical host of A (at the flow''s first packet)';
COMMENT ON COLUMN tapline_topology_edge.b_host IS 'physical host of B';
COMMENT ON COLUMN tapline_topology_edge.a_tenant IS 'tenant of A';
COMMENT ON COLUMN tapline_topology_edge.b_tenant IS 'tenant of B';
COMMENT ON COLUMN tapline_topology_edge.traffic_class IS 'intra_host, inter_host or external';
COMMENT ON COLUMN tapline_topology_edge.bytes_ab IS 'wire bytes sent by A to B';
COMMENT ON COLUMN tapline_topology_edge.bytes_ba IS 'wire bytes sent by B to A';
COMMENT ON COLUMN tapline_topology_edge.bytes IS 'bytes_ab + bytes_ba';
COMMENT ON COLUMN tapline_topology_edge.packets IS 'packets in both directions';
COMMENT ON COLUMN tapline_topology_edge.flows IS 'distinct flows (5-tuples) between A and B';
COMMENT ON COLUMN tapline_topology_edge.first_seen IS 'first packet of the edge in the range';
COMMENT ON COLUMN tapline_topology_edge.last_seen IS 'last packet of the edge in the range';

-- From the raw identified_flows (exact distinct flow counts and addresses of external
-- endpoints), so the range must lie within that table's retention.
CREATE OR REPLACE FUNCTION topology_edges(p_from timestamptz, p_to timestamptz)
  RETURNS SETOF tapline_topology_edge LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_to < p_from THEN
    RAISE EXCEPTION 'topology_edges: invalid time range [%, %)', p_from, p_to USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  WITH f AS (
    SELECT coalesce(i.a_vm, host(i.addr_a)) a, coalesce(i.b_vm, host(i.addr_b)) b, i.* FROM identified_flows i
     WHERE i.window_start >= p_from AND i.window_start < p_to
  ),
  per_point AS (
    SELECT f.a, f.b, f.observation_point, max(f.a_vm) a_vm, max(f.b_vm) b_vm, max(f.a_name) a_name, max(f.b_name) b_name,
           max(f.a_host) a_host, max(f.b_host) b_host, max(f.a_tenant) a_tenant, max(f.b_tenant) b_tenant,
           max(f.traffic_class::text) traffic_class, sum(f.bytes_ab)::bigint bytes_ab, sum(f.bytes_ba)::bigint bytes_ba,
           sum(f.packets_ab + f.packets_ba)::bigint packets, count(DISTINCT f.flow_key) flows,
           min(f.first_seen) first_seen, max(f.last_seen) last_seen
      FROM f GROUP BY f.a, f.b, f.observation_point
  )
  SELECT DISTINCT ON (p.a, p.b) p.a, p.b, p.a_vm, p.b_vm, p.a_name, p.b_name, p.a_host, p.b_host, p.a_tenant, p.b_tenant,
         p.traffic_class, p.bytes_ab, p.bytes_ba, p.bytes_ab + p.bytes_ba, p.packets, p.flows, p.first_seen, p.last_seen
    FROM per_point p ORDER BY p.a, p.b, p.bytes_ab + p.bytes_ba DESC, p.observation_point;
END
$$;
COMMENT ON FUNCTION topology_edges(timestamptz, timestamptz) IS
  'tapline: every pair of endpoints that exchanged traffic in [from, to), from identified_flows; a pair mirrored at several observation points is counted from the one that saw the most bytes';

CREATE TYPE tapline_pair_latency_loss AS (
  vm_a text, vm_b text, rtt_samples bigint, rtt_mean_ms double precision, rtt_min_ms double precision, rtt_max_ms double precision,
  rtt_p50_ms double precision, rtt_p95_ms double precision, rtt_p99_ms double precision, jitter_ms double precision,
  data_segments bigint, retransmitted_segments bigint, lost_before_mirror_segments bigint, loss_rate double precision);
COMMENT ON TYPE tapline_pair_latency_loss IS 'tapline: one row of pair_latency_loss(from, to, kinds)';
COMMENT ON COLUMN tapline_pair_latency_loss.vm_a IS 'vm_id of endpoint A (lower address of the flows), NULL = not an inventory VM';
COMMENT ON COLUMN tapline_pair_latency_loss.vm_b IS 'vm_id of endpoint B, NULL = not an inventory VM';
COMMENT ON COLUMN tapline_pair_latency_loss.rtt_samples IS 'RTT samples of the chosen kinds in the range';
COMMENT ON COLUMN tapline_pair_latency_loss.rtt_mean_ms IS 'exact mean RTT (sum / count), milliseconds';
COMMENT ON COLUMN tapline_pair_latency_loss.rtt_min_ms IS 'exact smallest RTT sample, ms';
COMMENT ON COLUMN tapline_pair_latency_loss.rtt_max_ms IS 'exact largest RTT sample, ms';
COMMENT ON COLUMN tapline_pair_latency_loss.rtt_p50_ms IS 'median RTT from the merged DDSketch of every sample in the range (within the sketch''s relative accuracy, 1 % by default), ms';
COMMENT ON COLUMN tapline_pair_latency_loss.rtt_p95_ms IS '95th percentile RTT, merged sketch, ms';
COMMENT ON COLUMN tapline_pair_latency_loss.rtt_p99_ms IS '99th percentile RTT, merged sketch, ms';
COMMENT ON COLUMN tapline_pair_latency_loss.jitter_ms IS 'mean absolute difference of consecutive RTT samples of a flow (sum of deltas / number of deltas), ms';
COMMENT ON COLUMN tapline_pair_latency_loss.data_segments IS 'TCP segments with payload, both directions';
COMMENT ON COLUMN tapline_pair_latency_loss.retransmitted_segments IS 'TCP segments carrying already-seen sequence space (lost after the mirror, or spurious), both directions';
COMMENT ON COLUMN tapline_pair_latency_loss.lost_before_mirror_segments IS 'TCP segments whose first copy never passed the mirror, both directions';
COMMENT ON COLUMN tapline_pair_latency_loss.loss_rate IS '(retransmitted + lost_before_mirror) / data_segments; NULL without data segments';

-- p_kinds: which RTT measurements to merge: data_ab (A''s data -> B''s ACK, the path mirror->B->mirror),
-- data_ba, ts_ab, ts_ba (TCP timestamps), icmp_echo. The default merges both TCP data directions
-- and ICMP echo; pass ARRAY['icmp_echo'] for ping RTT alone.
CREATE OR REPLACE FUNCTION pair_latency_loss(p_from timestamptz, p_to timestamptz,
    p_kinds text[] DEFAULT ARRAY['data_ab', 'data_ba', 'icmp_echo'])
  RETURNS SETOF tapline_pair_latency_loss LANGUAGE plpgsql STABLE AS $$
DECLARE k text;
BEGIN
  FOREACH k IN ARRAY coalesce(p_kinds, ARRAY[]::text[]) LOOP
    IF k NOT IN ('data_ab', 'data_ba', 'ts_ab', 'ts_ba', 'icmp_echo') THEN
      RAISE EXCEPTION 'pair_latency_loss: unknown RTT kind "%" (use data_ab, data_ba, ts_ab, ts_ba, icmp_echo)', k USING ERRCODE = '22023';
    END IF;
  END LOOP;
  IF coalesce(array_length(p_kinds, 1), 0) = 0 THEN
    RAISE EXCEPTION 'pair_latency_loss: name at least one RTT kind' USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  WITH l AS (SELECT * FROM tapline_latency_pairs(p_from, p_to)),
  kinds AS (  -- one row per (pair, kind) so that the chosen kinds can be filtered and summed
    SELECT l.vm_a, l.vm_b, v.kind, v.n, v.s, v.mn, v.mx, v.ds, v.dc
      FROM l CROSS JOIN LATERAL (VALUES
        ('data_ab', l.rtt_data_ab_count, l.rtt_data_ab_sum_ns, l.rtt_data_ab_min_ns, l.rtt_data_ab_max_ns, l.rtt_data_ab_delta_sum_ns, l.rtt_data_ab_delta_count),
        ('data_ba', l.rtt_data_ba_count, l.rtt_data_ba_sum_ns, l.rtt_data_ba_min_ns, l.rtt_data_ba_max_ns, l.rtt_data_ba_delta_sum_ns, l.rtt_data_ba_delta_count),
        ('ts_ab', l.rtt_ts_ab_count, l.rtt_ts_ab_sum_ns, l.rtt_ts_ab_min_ns, l.rtt_ts_ab_max_ns, l.rtt_ts_ab_delta_sum_ns, l.rtt_ts_ab_delta_count),
        ('ts_ba', l.rtt_ts_ba_count, l.rtt_ts_ba_sum_ns, l.rtt_ts_ba_min_ns, l.rtt_ts_ba_max_ns, l.rtt_ts_ba_delta_sum_ns, l.rtt_ts_ba_delta_count),
        ('icmp_echo', l.rtt_icmp_echo_count, l.rtt_icmp_echo_sum_ns, l.rtt_icmp_echo_min_ns, l.rtt_icmp_echo_max_ns, l.rtt_icmp_echo_delta_sum_ns, l.rtt_icmp_echo_delta_count)
      ) AS v(kind, n, s, mn, mx, ds, dc)
     WHERE v.kind = ANY (p_kinds)
  ),
  rtt AS (
    SELECT k2.vm_a, k2.vm_b, sum(k2.n)::bigint n, sum(k2.s) s, min(k2.mn) mn, max(k2.mx) mx, sum(k2.ds) ds, sum(k2.dc) dc
      FROM kinds k2 GROUP BY k2.vm_a, k2.vm_b
  ),
  loss AS (
    SELECT l.vm_a, l.vm_b,
           sum(coalesce(l.tcp_ab_data_segments, 0) + coalesce(l.tcp_ba_data_segments, 0))::bigint ds,
           sum(coalesce(l.tcp_ab_retransmitted_segments, 0) + coalesce(l.tcp_ba_retransmitted_segments, 0))::bigint rs,
           sum(coalesce(l.tcp_ab_lost_before_mirror_segments, 0) + coalesce(l.tcp_ba_lost_before_mirror_segments, 0))::bigint lb
      FROM l GROUP BY l.vm_a, l.vm_b
  ),
  q AS (
    SELECT b.vm_a, b.vm_b, max(b.gamma) gamma, array_agg(b.bin) bins, array_agg(b.count) counts
      FROM tapline_rtt_bins(p_from, p_to) b WHERE b.kind = ANY (p_kinds) GROUP BY b.vm_a, b.vm_b
  )
  SELECT loss.vm_a, loss.vm_b, coalesce(rtt.n, 0)::bigint,
         (CASE WHEN rtt.n > 0 THEN rtt.s / rtt.n / 1e6 END)::double precision, (rtt.mn / 1e6)::double precision, (rtt.mx / 1e6)::double precision,
         tapline_sketch_quantile(q.gamma, q.bins, q.counts, 0.5) / 1e6,
         tapline_sketch_quantile(q.gamma, q.bins, q.counts, 0.95) / 1e6,
         tapline_sketch_quantile(q.gamma, q.bins, q.counts, 0.99) / 1e6,
         (CASE WHEN rtt.dc > 0 THEN rtt.ds / rtt.dc / 1e6 END)::double precision,
         loss.ds, loss.rs, loss.lb,
         CASE WHEN loss.ds > 0 THEN (loss.rs + loss.lb)::double precision / loss.ds END
    FROM loss
    LEFT JOIN rtt ON rtt.vm_a IS NOT DISTINCT FROM loss.vm_a AND rtt.vm_b IS NOT DISTINCT FROM loss.vm_b
    LEFT JOIN q ON q.vm_a IS NOT DISTINCT FROM loss.vm_a AND q.vm_b IS NOT DISTINCT FROM loss.vm_b
   ORDER BY loss.vm_a NULLS LAST, loss.vm_b NULLS LAST;
END
$$;
COMMENT ON FUNCTION pair_latency_loss(timestamptz, timestamptz, text[]) IS
  'tapline: RTT (exact count/mean/min/max/jitter, p50/p95/p99 from merged sketches) and TCP loss per VM pair in [from, to); kinds: which RTT measurements to merge (columns: see COMMENT ON TYPE tapline_pair_latency_loss)';

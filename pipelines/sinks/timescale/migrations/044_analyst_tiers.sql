-- Reading a time range from the aggregate hierarchy: whole days from the 1-day level, whole
-- hours from the 1-hour level, the ragged minutes at both ends from the 1-minute level. Every
-- bucket is read from exactly one level, so sums over the range are exact (a window counts in the
-- bucket where it starts; the range is [from, to) rounded to whole minutes).

CREATE OR REPLACE FUNCTION tapline_ceil_bucket(width interval, t timestamptz) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN time_bucket(width, t) = t THEN t ELSE time_bucket(width, t) + width END
$$;

CREATE OR REPLACE FUNCTION tapline_tiers(p_from timestamptz, p_to timestamptz)
  RETURNS TABLE (tier text, lo timestamptz, hi timestamptz)
  LANGUAGE plpgsql STABLE AS $$
DECLARE
  f timestamptz := tapline_ceil_bucket(INTERVAL '1 minute', p_from);
  t timestamptz := time_bucket(INTERVAL '1 minute', p_to);
  h0 timestamptz; h1 timestamptz; d0 timestamptz; d1 timestamptz;
BEGIN
  IF p_from IS NULL OR p_to IS NULL THEN
    RAISE EXCEPTION 'tapline: the time range needs both ends (from %, to %)', p_from, p_to USING ERRCODE = '22004';
  END IF;
  IF p_to < p_from THEN
    RAISE EXCEPTION 'tapline: the time range ends (%) before it starts (%)', p_to, p_from USING ERRCODE = '22023';
  END IF;
  IF t <= f THEN RETURN; END IF;
  h0 := tapline_ceil_bucket(INTERVAL '1 hour', f);
  h1 := time_bucket(INTERVAL '1 hour', t);
  IF h1 <= h0 THEN
    RETURN QUERY VALUES ('1m', f, t);
    RETURN;
  END IF;
  d0 := tapline_ceil_bucket(INTERVAL '1 day', h0);
  d1 := time_bucket(INTERVAL '1 day', h1);
  IF d1 <= d0 THEN
    RETURN QUERY VALUES ('1m', f, h0), ('1h', h0, h1), ('1m', h1, t);
    RETURN;
  END IF;
  RETURN QUERY VALUES ('1m', f, h0), ('1h', h0, d0), ('1d', d0, d1), ('1h', d1, h1), ('1m', h1, t);
END
$$;
COMMENT ON FUNCTION tapline_tiers(timestamptz, timestamptz) IS
  'tapline: splits [from, to) (rounded to whole minutes) into ranges read from the 1-minute (1m), 1-hour (1h) and 1-day (1d) aggregates, each bucket from exactly one level';

-- Traffic per VM pair over a range, one row per (bucket, pair) with the busiest observation
-- point kept: a flow mirrored at two points (both hosts of an inter-host pair) is counted once.
CREATE OR REPLACE FUNCTION tapline_traffic_pairs(p_from timestamptz, p_to timestamptz)
  RETURNS TABLE (bucket timestamptz, observation_point text, a_vm text, b_vm text, a_name text, b_name text,
                 a_host text, b_host text, a_tenant text, b_tenant text, traffic_class text,
                 packets_ab bigint, bytes_ab bigint, packets_ba bigint, bytes_ba bigint, flow_windows bigint,
                 first_seen timestamptz, last_seen timestamptz)
  LANGUAGE sql STABLE AS $$
  WITH r AS (SELECT * FROM tapline_tiers(p_from, p_to)),
  x AS (
    SELECT m.bucket, m.observation_point, m.a_vm, m.b_vm, m.a_name, m.b_name, m.a_host, m.b_host, m.a_tenant, m.b_tenant, m.traffic_class,
           m.packets_ab, m.bytes_ab, m.packets_ba, m.bytes_ba, m.flow_windows, m.first_seen, m.last_seen
      FROM r JOIN traffic_pair_1m m ON r.tier = '1m' AND m.bucket >= r.lo AND m.bucket < r.hi
    UNION ALL
    SELECT m.bucket, m.observation_point, m.a_vm, m.b_vm, m.a_name, m.b_name, m.a_host, m.b_host, m.a_tenant, m.b_tenant, m.traffic_class,
           m.packets_ab, m.bytes_ab, m.packets_ba, m.bytes_ba, m.flow_windows, m.first_seen, m.last_seen
      FROM r JOIN traffic_pair_1h m ON r.tier = '1h' AND m.bucket >= r.lo AND m.bucket < r.hi
    UNION ALL
    SELECT m.bucket, m.observation_point, m.a_vm, m.b_vm, m.a_name, m.b_name, m.a_host, m.b_host, m.a_tenant, m.b_tenant, m.traffic_class,
           m.packets_ab, m.bytes_ab, m.packets_ba, m.bytes_ba, m.flow_windows, m.first_seen, m.last_seen
      FROM r JOIN traffic_pair_1d m ON r.tier = '1d' AND m.bucket >= r.lo AND m.bucket < r.hi
  ),
  per_point AS (  -- the same pair can be split over several rows of one point (a name or class changed)
    SELECT x.bucket, x.observation_point, x.a_vm, x.b_vm,
           max(x.a_name) a_name, max(x.b_name) b_name, max(x.a_host) a_host, max(x.b_host) b_host,
           max(x.a_tenant) a_tenant, max(x.b_tenant) b_tenant, max(x.traffic_class) traffic_class,
           sum(x.packets_ab)::bigint packets_ab, sum(x.bytes_ab)::bigint bytes_ab, sum(x.packets_ba)::bigint packets_ba,
           sum(x.bytes_ba)::bigint bytes_ba, sum(x.flow_windows)::bigint flow_windows,
           min(x.first_seen) first_seen, max(x.last_seen) last_seen
      FROM x GROUP BY x.bucket, x.observation_point, x.a_vm, x.b_vm
  )
  SELECT DISTINCT ON (p.bucket, p.a_vm, p.b_vm) p.*
    FROM per_point p
   ORDER BY p.bucket, p.a_vm, p.b_vm, p.bytes_ab + p.bytes_ba DESC, p.observation_point
$$;
COMMENT ON FUNCTION tapline_traffic_pairs(timestamptz, timestamptz) IS
  'tapline: traffic per bucket and VM pair over [from, to) from the aggregate hierarchy (see tapline_tiers), keeping per bucket the observation point that saw the most bytes of the pair';

-- Merged RTT sketch bins per VM pair and kind over a range (bins of all levels summed per key).
CREATE OR REPLACE FUNCTION tapline_rtt_bins(p_from timestamptz, p_to timestamptz)
  RETURNS TABLE (vm_a text, vm_b text, kind text, gamma double precision, bin integer, count double precision)
  LANGUAGE sql STABLE AS $$
  WITH r AS (SELECT * FROM tapline_tiers(p_from, p_to)),
  x AS (
    SELECT m.vm_a, m.vm_b, m.kind, m.gamma, m.bin, m.count FROM r JOIN rtt_sketch_1m m ON r.tier = '1m' AND m.bucket >= r.lo AND m.bucket < r.hi
    UNION ALL
    SELECT m.vm_a, m.vm_b, m.kind, m.gamma, m.bin, m.count FROM r JOIN rtt_sketch_1h m ON r.tier = '1h' AND m.bucket >= r.lo AND m.bucket < r.hi
    UNION ALL
    SELECT m.vm_a, m.vm_b, m.kind, m.gamma, m.bin, m.count FROM r JOIN rtt_sketch_1d m ON r.tier = '1d' AND m.bucket >= r.lo AND m.bucket < r.hi
  )
  SELECT x.vm_a, x.vm_b, x.kind, x.gamma, x.bin, sum(x.count) FROM x GROUP BY x.vm_a, x.vm_b, x.kind, x.gamma, x.bin
$$;
COMMENT ON FUNCTION tapline_rtt_bins(timestamptz, timestamptz) IS
  'tapline: the RTT DDSketch bins of [from, to) per VM pair and kind, merged over the aggregate hierarchy; feed them to tapline_sketch_quantile';

-- Performance per bucket and VM pair over a range (rows of the three levels, same columns).
CREATE OR REPLACE FUNCTION tapline_latency_pairs(p_from timestamptz, p_to timestamptz)
  RETURNS SETOF latency_pair_1m LANGUAGE sql STABLE AS $$
  WITH r AS (SELECT * FROM tapline_tiers(p_from, p_to))
  SELECT m.* FROM r JOIN latency_pair_1m m ON r.tier = '1m' AND m.bucket >= r.lo AND m.bucket < r.hi
  UNION ALL
  SELECT m.* FROM r JOIN latency_pair_1h m ON r.tier = '1h' AND m.bucket >= r.lo AND m.bucket < r.hi
  UNION ALL
  SELECT m.* FROM r JOIN latency_pair_1d m ON r.tier = '1d' AND m.bucket >= r.lo AND m.bucket < r.hi
$$;
COMMENT ON FUNCTION tapline_latency_pairs(timestamptz, timestamptz) IS
  'tapline: RTT sums, loss counters and utilization maxima per bucket and VM pair over [from, to) from the aggregate hierarchy (see tapline_tiers)';

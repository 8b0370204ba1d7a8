-- tapline_traffic_pairs (044) collapsed a pair's rows of one bucket into one, taking max() of
-- hosts and names: a VM that migrated inside an hour or day bucket had all of that bucket's
-- traffic put on one host. Now the busiest observation point is chosen per (bucket, pair) and
-- ALL of that point's rows are returned, each with its own hosts, names and class, so callers
-- group by what they need.
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
  best AS (
    SELECT DISTINCT ON (s.bucket, s.a_vm, s.b_vm) s.bucket, s.a_vm, s.b_vm, s.observation_point
      FROM (SELECT x.bucket, x.a_vm, x.b_vm, x.observation_point, sum(x.bytes_ab + x.bytes_ba) AS bytes
              FROM x GROUP BY x.bucket, x.a_vm, x.b_vm, x.observation_point) s
     ORDER BY s.bucket, s.a_vm, s.b_vm, s.bytes DESC, s.observation_point
  )
  SELECT x.* FROM x JOIN best b
    ON b.bucket = x.bucket AND b.a_vm IS NOT DISTINCT FROM x.a_vm AND b.b_vm IS NOT DISTINCT FROM x.b_vm AND b.observation_point = x.observation_point
$$;
COMMENT ON FUNCTION tapline_traffic_pairs(timestamptz, timestamptz) IS
  'tapline: traffic per bucket and VM pair over [from, to) from the aggregate hierarchy (see tapline_tiers); of the observation points that saw a pair in a bucket only the one that saw the most bytes counts (a flow mirrored twice is counted once); several rows per (bucket, pair) when hosts, names or class changed within the bucket';

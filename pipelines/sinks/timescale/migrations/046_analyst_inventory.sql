-- Analyst functions about VMs: new pairs, a VM's history, capacity headroom (see 045 for the
-- conventions: composite result types with a COMMENT on every column).

CREATE TYPE tapline_new_pair AS (
  a_vm text, b_vm text, a_name text, b_name text, a_host text, b_host text, a_tenant text, b_tenant text,
  first_seen timestamptz, bytes bigint);
COMMENT ON TYPE tapline_new_pair IS 'tapline: one row of new_pairs_since(t)';
COMMENT ON COLUMN tapline_new_pair.a_vm IS 'vm_id of endpoint A (the lower address)';
COMMENT ON COLUMN tapline_new_pair.b_vm IS 'vm_id of endpoint B';
COMMENT ON COLUMN tapline_new_pair.a_name IS 'VM name of A';
COMMENT ON COLUMN tapline_new_pair.b_name IS 'VM name of B';
COMMENT ON COLUMN tapline_new_pair.a_host IS 'host of A when the pair first talked';
COMMENT ON COLUMN tapline_new_pair.b_host IS 'host of B when the pair first talked';
COMMENT ON COLUMN tapline_new_pair.a_tenant IS 'tenant of A';
COMMENT ON COLUMN tapline_new_pair.b_tenant IS 'tenant of B';
COMMENT ON COLUMN tapline_new_pair.first_seen IS 'first packet ever recorded between the two VMs (as far back as the 1-day aggregate keeps)';
COMMENT ON COLUMN tapline_new_pair.bytes IS 'bytes exchanged since first_seen (both directions)';

-- Both endpoints must be inventory VMs. "Ever" = as far back as traffic_pair_1d is kept: its
-- retention bounds how far this function can tell a new pair from an old one.
CREATE OR REPLACE FUNCTION new_pairs_since(p_since timestamptz)
  RETURNS SETOF tapline_new_pair LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_since IS NULL THEN
    RAISE EXCEPTION 'new_pairs_since: the time must not be NULL' USING ERRCODE = '22004';
  END IF;
  RETURN QUERY
  WITH d AS (
    SELECT t.a_vm, t.b_vm, t.a_name, t.b_name, t.a_host, t.b_host, t.a_tenant, t.b_tenant, t.first_seen, t.bytes_ab + t.bytes_ba bytes
      FROM traffic_pair_1d t WHERE t.a_vm IS NOT NULL AND t.b_vm IS NOT NULL
  ),
  firsts AS (
    SELECT d.a_vm, d.b_vm, min(d.first_seen) first_seen, sum(d.bytes)::bigint bytes FROM d GROUP BY d.a_vm, d.b_vm
  )
  SELECT f.a_vm, f.b_vm, x.a_name, x.b_name, x.a_host, x.b_host, x.a_tenant, x.b_tenant, f.first_seen, f.bytes
    FROM firsts f
    JOIN LATERAL (SELECT d.* FROM d WHERE d.a_vm = f.a_vm AND d.b_vm = f.b_vm ORDER BY d.first_seen LIMIT 1) x ON true
   WHERE f.first_seen >= p_since
   ORDER BY f.first_seen, f.a_vm, f.b_vm;
END
$$;
COMMENT ON FUNCTION new_pairs_since(timestamptz) IS
  'tapline: VM pairs whose first recorded packet is at or after t (columns: see COMMENT ON TYPE tapline_new_pair)';

CREATE TYPE tapline_vm_history_entry AS (
  at timestamptz, until timestamptz, event text, name text, host text, from_host text, tenant text,
  ips inet[], nic_capacity_bps bigint, source text);
COMMENT ON TYPE tapline_vm_history_entry IS 'tapline: one row of vm_history(vm): an inventory version or a VM event';
COMMENT ON COLUMN tapline_vm_history_entry.at IS 'when the version started to hold, or when the event happened';
COMMENT ON COLUMN tapline_vm_history_entry.until IS 'inventory version: when the next version replaced it (NULL = current); events: NULL';
COMMENT ON COLUMN tapline_vm_history_entry.event IS '''inventory'' for an inventory version, else the vm_events type (e.g. migration)';
COMMENT ON COLUMN tapline_vm_history_entry.name IS 'VM name';
COMMENT ON COLUMN tapline_vm_history_entry.host IS 'inventory: the host of this version; event: the host the VM moved to';
COMMENT ON COLUMN tapline_vm_history_entry.from_host IS 'event: the host the VM left; NULL for inventory versions';
COMMENT ON COLUMN tapline_vm_history_entry.tenant IS 'tenant (inventory versions)';
COMMENT ON COLUMN tapline_vm_history_entry.ips IS 'IP addresses of this version (inventory versions)';
COMMENT ON COLUMN tapline_vm_history_entry.nic_capacity_bps IS 'NIC capacity in bits/s of this version (inventory versions)';
COMMENT ON COLUMN tapline_vm_history_entry.source IS 'event: inventory (a new version named another host) or traffic (seen at another host); NULL for versions';

CREATE OR REPLACE FUNCTION vm_history(p_vm text)
  RETURNS SETOF tapline_vm_history_entry LANGUAGE sql STABLE AS $$
  SELECT * FROM (
    SELECT v.valid_from, lead(v.valid_from) OVER (ORDER BY v.valid_from), 'inventory'::text, v.name, v.host, NULL::text,
           v.tenant, v.ips, v.nic_capacity_bps, NULL::text
      FROM vm_inventory v WHERE v.vm_id = p_vm
    UNION ALL
    SELECT e.at, NULL::timestamptz, e.type::text, e.vm_name, e.to_host, e.from_host, NULL::text, NULL::inet[], NULL::bigint, e.source::text
      FROM vm_events e WHERE e.vm = p_vm
  ) h(at, until, event, name, host, from_host, tenant, ips, nic_capacity_bps, source)
  ORDER BY h.at, h.event <> 'inventory'
$$;
COMMENT ON FUNCTION vm_history(text) IS
  'tapline: every inventory version and every event (migrations) of one VM (vm_id), oldest first (columns: see COMMENT ON TYPE tapline_vm_history_entry)';

CREATE TYPE tapline_capacity_headroom AS (
  vm text, name text, nic_capacity_bps bigint, busiest_minute timestamptz, peak_out_bps double precision, peak_in_bps double precision,
  peak_utilization double precision, max_flow_peak_1s_utilization double precision, headroom_bps double precision);
COMMENT ON TYPE tapline_capacity_headroom IS 'tapline: one row of capacity_headroom(from, to)';
COMMENT ON COLUMN tapline_capacity_headroom.vm IS 'vm_id';
COMMENT ON COLUMN tapline_capacity_headroom.name IS 'VM name';
COMMENT ON COLUMN tapline_capacity_headroom.nic_capacity_bps IS 'NIC capacity from the inventory, bits/s';
COMMENT ON COLUMN tapline_capacity_headroom.busiest_minute IS 'start of the minute with the highest rate in either direction';
COMMENT ON COLUMN tapline_capacity_headroom.peak_out_bps IS 'bits/s the VM sent in its busiest minute (minute mean over all its flows)';
COMMENT ON COLUMN tapline_capacity_headroom.peak_in_bps IS 'bits/s the VM received in its busiest minute';
COMMENT ON COLUMN tapline_capacity_headroom.peak_utilization IS 'greatest(peak_out_bps, peak_in_bps) / nic_capacity_bps (NIC is full duplex)';
COMMENT ON COLUMN tapline_capacity_headroom.max_flow_peak_1s_utilization IS 'highest utilization of one flow in one epoch second (a lower bound of the VM''s 1-second peak)';
COMMENT ON COLUMN tapline_capacity_headroom.headroom_bps IS 'nic_capacity_bps - greatest(peak_out_bps, peak_in_bps): spare capacity at the busiest minute';

-- Minute resolution: reads latency_pair_1m only, so [from, to) must lie within its retention.
CREATE OR REPLACE FUNCTION capacity_headroom(p_from timestamptz, p_to timestamptz)
  RETURNS SETOF tapline_capacity_headroom LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_to < p_from THEN
    RAISE EXCEPTION 'capacity_headroom: invalid time range [%, %)', p_from, p_to USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  WITH sides AS (
    SELECT l.bucket, l.vm_a vm, l.nic_capacity_a_bps cap, l.bytes_ab out_b, l.bytes_ba in_b,
           greatest(l.max_utilization_a_out_peak_1s, l.max_utilization_a_in_peak_1s) p1s
      FROM latency_pair_1m l WHERE l.vm_a IS NOT NULL AND l.bucket >= p_from AND l.bucket < p_to
    UNION ALL
    SELECT l.bucket, l.vm_b, l.nic_capacity_b_bps, l.bytes_ba, l.bytes_ab,
           greatest(l.max_utilization_b_out_peak_1s, l.max_utilization_b_in_peak_1s)
      FROM latency_pair_1m l WHERE l.vm_b IS NOT NULL AND l.bucket >= p_from AND l.bucket < p_to
  ),
  per_min AS (
    SELECT s.vm, s.bucket, max(s.cap) cap, sum(s.out_b) * 8 / 60.0 out_bps, sum(s.in_b) * 8 / 60.0 in_bps, max(s.p1s) p1s
      FROM sides s GROUP BY s.vm, s.bucket
  ),
  busiest AS (
    SELECT DISTINCT ON (m.vm) m.vm, m.bucket, m.out_bps, m.in_bps FROM per_min m
     ORDER BY m.vm, greatest(m.out_bps, m.in_bps) DESC, m.bucket
  ),
  per_vm AS (SELECT m.vm, max(m.cap) cap, max(m.p1s) p1s FROM per_min m GROUP BY m.vm)
  SELECT b.vm, (SELECT v.name FROM vm_inventory v WHERE v.vm_id = b.vm ORDER BY v.valid_from DESC LIMIT 1),
         p.cap, b.bucket, b.out_bps::double precision, b.in_bps::double precision,
         (greatest(b.out_bps, b.in_bps) / nullif(p.cap, 0))::double precision, p.p1s,
         (p.cap - greatest(b.out_bps, b.in_bps))::double precision
    FROM busiest b JOIN per_vm p USING (vm)
   ORDER BY 7 DESC NULLS LAST, b.vm;
END
$$;
COMMENT ON FUNCTION capacity_headroom(timestamptz, timestamptz) IS
  'tapline: per VM, its busiest minute in [from, to) against its NIC capacity (columns: see COMMENT ON TYPE tapline_capacity_headroom)';

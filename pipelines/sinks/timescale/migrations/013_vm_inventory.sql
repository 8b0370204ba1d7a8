-- The inventory history: every version of every VM, so "which VM held IP x at time t" is one
-- query on vm_inventory_history (valid_to = the next version's valid_from).
CREATE TABLE IF NOT EXISTS vm_inventory (
  "vm_id" text NOT NULL,
  "name" text NOT NULL,
  "macs" text[] NOT NULL,
  "ips" inet[] NOT NULL,
  "host" text NOT NULL,
  "tenant" text,
  "project" text,
  "subnet" text,
  "nic_capacity_bps" bigint,
  "valid_from" timestamptz NOT NULL,
  PRIMARY KEY (vm_id, valid_from)
);
SELECT create_hypertable('vm_inventory', by_range('valid_from', INTERVAL '30 days'), if_not_exists => TRUE);
COMMENT ON COLUMN vm_inventory."vm_id" IS 'stable identity (libvirt UUID or the file''s id); a migration keeps it';
COMMENT ON COLUMN vm_inventory."macs" IS 'lower-case aa:bb:cc:dd:ee:ff';
COMMENT ON COLUMN vm_inventory."ips" IS 'IPv4/IPv6 addresses in their canonical text form';
COMMENT ON COLUMN vm_inventory."host" IS 'physical host (hypervisor) the VM runs on';
COMMENT ON COLUMN vm_inventory."subnet" IS 'CIDR, e.g. 10.77.1.0/24';
COMMENT ON COLUMN vm_inventory."nic_capacity_bps" IS 'NIC capacity in bits per second';
COMMENT ON COLUMN vm_inventory."valid_from" IS 'event time (ns since the epoch) from which this version holds';
CREATE INDEX IF NOT EXISTS vm_inventory_ips ON vm_inventory USING gin (ips);
COMMENT ON TABLE vm_inventory IS 'tapline: one row per version of a VM of the inventory (which VM had which IPs/MACs on which host from valid_from on); a version holds until the next version of the same vm_id (see view vm_inventory_history). Topic tapline.inventory.v1';
CREATE OR REPLACE VIEW vm_inventory_history AS
  SELECT v.*, lead(v.valid_from) OVER (PARTITION BY v.vm_id ORDER BY v.valid_from) AS valid_to
  FROM vm_inventory v;
COMMENT ON VIEW vm_inventory_history IS 'tapline: vm_inventory with valid_to (the next version''s valid_from, null for the current one). Which VM held 10.0.0.5 at t: SELECT vm_id, name, host FROM vm_inventory_history WHERE ips @> ARRAY[''10.0.0.5''::inet] AND valid_from <= t AND (valid_to IS NULL OR valid_to > t)';

-- Percentiles from DDSketch bins, computed in SQL exactly as @datadog/sketches-js does
-- (DDSketch.getValueAtQuantile with a LogarithmicMapping): the bins of several windows, flows
-- or buckets are first SUMMED per key (that is what merging sketches means), then the quantile is
-- read from the merged bins. Never average per-window percentiles: that is not a percentile.
--
-- sketches-js: rank = q * (n - 1) over all counts (zero bucket included); the answer is the
-- first key, ascending, whose running count exceeds rank; its value is
-- gamma^key * 2 / (1 + gamma) (KeyMapping.value), and 0 for the zero bucket.
-- The zero bucket (values too small for a key) is stored with the sentinel key
-- tapline_sketch_zero_bin() so it sorts before every real key.

CREATE OR REPLACE FUNCTION tapline_sketch_zero_bin() RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT -2147483648 $$;
COMMENT ON FUNCTION tapline_sketch_zero_bin() IS
  'tapline: the bin key that holds a DDSketch''s zero bucket (values at or below the mapping''s minimum) in rtt_sketch_bins and the sketch aggregates';

CREATE OR REPLACE FUNCTION tapline_sketch_value(gamma double precision, bin integer) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN bin = tapline_sketch_zero_bin() THEN 0::double precision
              ELSE power(gamma, bin::double precision) * 2 / (1 + gamma) END
$$;
COMMENT ON FUNCTION tapline_sketch_value(double precision, integer) IS
  'tapline: the value DDSketch (sketches-js LogarithmicMapping) reports for bin key `bin`: gamma^bin * 2 / (1 + gamma); 0 for the zero bucket';

CREATE OR REPLACE FUNCTION tapline_sketch_quantile(gamma double precision, bins integer[], counts double precision[], q double precision)
  RETURNS double precision LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n double precision;
  rnk double precision;
  run double precision := 0;
  r record;
  last_bin integer;
BEGIN
  IF q IS NULL OR q < 0 OR q > 1 THEN
    RAISE EXCEPTION 'tapline_sketch_quantile: quantile % is outside [0, 1]', q USING ERRCODE = '22003';
  END IF;
  IF gamma IS NULL OR gamma <= 1 THEN
    RAISE EXCEPTION 'tapline_sketch_quantile: gamma % must be > 1', gamma USING ERRCODE = '22003';
  END IF;
  IF coalesce(array_length(bins, 1), 0) <> coalesce(array_length(counts, 1), 0) THEN
    RAISE EXCEPTION 'tapline_sketch_quantile: % bins but % counts', array_length(bins, 1), array_length(counts, 1) USING ERRCODE = '2202E';
  END IF;
  SELECT sum(c) INTO n FROM unnest(counts) AS c;
  IF n IS NULL OR n <= 0 THEN RETURN NULL; END IF;
  rnk := q * (n - 1);
  FOR r IN SELECT b, sum(c) AS c FROM unnest(bins, counts) AS t(b, c) GROUP BY b ORDER BY b LOOP
    run := run + r.c;
    last_bin := r.b;
    IF run > rnk THEN RETURN tapline_sketch_value(gamma, r.b); END IF;
  END LOOP;
  RETURN tapline_sketch_value(gamma, last_bin); -- rounding: rank at the very top
END
$$;
COMMENT ON FUNCTION tapline_sketch_quantile(double precision, integer[], double precision[], double precision) IS
  'tapline: quantile q (0..1) of the DDSketch whose bins are (bins[i], counts[i]); repeated keys are summed first, so array_agg over many windows merges their sketches. Same answer as sketches-js getValueAtQuantile. NULL for an empty sketch.';

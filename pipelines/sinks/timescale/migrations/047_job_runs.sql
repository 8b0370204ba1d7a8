-- What tapline's job runner (lib/db/jobs.ts) ran: on the embedded TimescaleDB job_stats stays
-- empty (no background workers), so this is the only record of refreshes, compression and retention.
CREATE TABLE IF NOT EXISTS tapline_job_runs (
  ran_at      timestamptz NOT NULL DEFAULT now(),
  job_id      integer NOT NULL,
  proc_name   text NOT NULL,
  target      text NOT NULL,
  duration_ms double precision NOT NULL,
  ok          boolean NOT NULL,
  error       text
);
CREATE INDEX IF NOT EXISTS tapline_job_runs_ran_at ON tapline_job_runs (ran_at DESC);
COMMENT ON TABLE tapline_job_runs IS 'tapline: one row per policy run by the job runner (refresh, compression, retention)';
COMMENT ON COLUMN tapline_job_runs.ran_at IS 'when the run ended';
COMMENT ON COLUMN tapline_job_runs.job_id IS 'timescaledb_information.jobs.job_id';
COMMENT ON COLUMN tapline_job_runs.proc_name IS 'policy_refresh_continuous_aggregate, policy_compression or policy_retention';
COMMENT ON COLUMN tapline_job_runs.target IS 'the continuous aggregate or hypertable the policy acts on';
COMMENT ON COLUMN tapline_job_runs.duration_ms IS 'how long run_job took';
COMMENT ON COLUMN tapline_job_runs.ok IS 'false when the job raised an error';
COMMENT ON COLUMN tapline_job_runs.error IS 'the error message of a failed run';

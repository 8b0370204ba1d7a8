/** Options shared by commands that talk to Kafka and TimescaleDB, and config loading from them. */
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type TaplineConfig } from '../lib/config';
import { parseBrokerList } from '../lib/services/kafka-broker';
import { validateStageSections } from '../pipelines/registry';

export function withServiceOptions(cmd: Command): Command {
  return cmd
    .option('--brokers <list>', 'use this Kafka cluster (host:port,...) instead of starting one (env TAPLINE_KAFKA_BROKERS)')
    .option('--pg <url>', 'use this TimescaleDB server (postgres://...) instead of the embedded one (env TAPLINE_PG_URL)')
    .option('--state-dir <dir>', 'where embedded services keep their data (env TAPLINE_STATE_DIR, default .tapline)');
}

/** overrides: a command's own dotted-key settings (e.g. `alerts send --set`), applied last. */
export function configFrom(cmd: Command, overrides: Record<string, unknown> = {}): TaplineConfig {
  const o = cmd.optsWithGlobals() as { config?: string; brokers?: string; pg?: string; stateDir?: string };
  const cfg = loadConfig(o.config, process.env, {
    'kafka.brokers': o.brokers ? parseBrokerList(o.brokers) : undefined,
    'timescale.url': o.pg,
    stateDir: o.stateDir,
    ...overrides,
  });
  validateStageSections(cfg); // a typo in any stage section stops every command, not just that stage
  return cfg;
}

/** Commander argument parser for a positive integer option (a bad value is a usage error). */
export function positiveInt(name: string): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

/** Commander argument parser for a port option: an integer 0..65535 (0 = any free port). */
export function portNumber(name: string): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${name} must be a port number (0-65535)`);
    return n;
  };
}

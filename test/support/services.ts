/**
 * Real services for integration tests: one Kafka broker and one embedded TimescaleDB per test
 * run, started on first use (so unit-only runs start nothing) on ports of their own and in a
 * fresh state directory, and stopped by the root hook when mocha finishes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type TaplineConfig } from '../../lib/config';
import { startServices, type Services } from '../../cli/services';

/** First port at or after `from` where `count` consecutive ports are free on 127.0.0.1. */
function freePorts(from: number, count: number): number {
  for (let p = from; p < from + 2000; p += count) {
    let ok = true;
    for (let i = 0; i < count && ok; i++) {
      ok = spawnSync('bash', ['-c', `! (exec 3<>/dev/tcp/127.0.0.1/${p + i}) 2>/dev/null`]).status === 0; // nothing accepts a connection there
    }
    if (ok) return p;
  }
  throw new Error(`no ${count} free consecutive ports from ${from}`);
}

// Ports of this run's services: the defaults, or the next free ones when something (another
// run, or a crashed one's leftovers) holds them. TAPLINE_TEST_*_PORT pins them.
export const TEST_KAFKA_PORT = Number(process.env.TAPLINE_TEST_KAFKA_PORT ?? freePorts(19192, 2));
export const TEST_PG_PORT = Number(process.env.TAPLINE_TEST_PG_PORT ?? freePorts(15533, 1));

let stateDir: string | null = null;
let services: Promise<Services> | null = null;

export function testConfig(overrides: Record<string, unknown> = {}): TaplineConfig {
  stateDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-test-'));
  return loadConfig(undefined, {}, {
    stateDir, 'kafka.embeddedPort': TEST_KAFKA_PORT, 'timescale.embeddedPort': TEST_PG_PORT, 'metrics.port': 0, ...overrides,
  });
}

/** Starts (once) and returns the shared test services. */
export function testServices(): Promise<Services> {
  services ??= startServices(testConfig());
  return services;
}

export async function stopTestServices(): Promise<void> {
  if (!services) return;
  const s = await services.catch(() => null);
  services = null;
  await s?.stopStarted();
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  stateDir = null;
}

/**
 * Real services for integration tests: one Kafka broker and one embedded TimescaleDB per test
 * run, started on first use (so unit-only runs start nothing) on ports of their own and in a
 * fresh state directory, and stopped by the root hook when mocha finishes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type TaplineConfig } from '../../lib/config';
import { startServices, type Services } from '../../cli/services';

export const TEST_KAFKA_PORT = Number(process.env.TAPLINE_TEST_KAFKA_PORT ?? 19192);
export const TEST_PG_PORT = Number(process.env.TAPLINE_TEST_PG_PORT ?? 15533);

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

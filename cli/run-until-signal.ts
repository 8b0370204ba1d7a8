/**
 * Long-running commands: serve /metrics, run until SIGINT/SIGTERM (or until a bounded
 * component finishes), then close everything once, in order.
 */
import { startMetricsServer } from '../lib/metrics';
import type { TaplineConfig } from '../lib/config';
import { logger } from '../lib/log';

const log = logger('cli');

export async function runUntilSignal(cfg: TaplineConfig, name: string, finished: Promise<unknown> | null,
  close: () => Promise<void>): Promise<void> {
  const metrics = cfg.metrics.port > 0 ? await startMetricsServer(cfg.metrics.host, cfg.metrics.port) : null;
  if (metrics) log.info({ url: metrics.url }, `${name}: metrics endpoint`);
  let onSignal: (() => void) | null = null;
  const signalled = new Promise<void>((resolve) => {
    onSignal = () => resolve();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  try {
    await Promise.race([signalled, ...(finished ? [finished] : [])]);
  } finally {
    if (onSignal) { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); }
    log.info(`${name}: stopping`);
    try {
      await close();
    } finally {
      await metrics?.close(); // an open endpoint would keep the process up after a failed close
    }
  }
}

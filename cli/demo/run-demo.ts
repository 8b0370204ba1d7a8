/**
 * `tapline demo`: the thin slice end to end on a real capture. Starts (or reuses) Kafka and
 * TimescaleDB, replays the file through the pipeline, prints the top flows and how to look at
 * them with psql, checks them against tshark, then stops what it started unless --keep.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TaplineError } from '../../lib/errors';
import type { TaplineConfig } from '../../lib/config';
import { startServices, ensurePipelineTopics, type Services } from '../services';
import { replayFile, type ReplayResult } from '../../pipelines/replay';
import { psqlCommand } from '../commands/db';
import { checkAgainstTshark, formatTopFlows, topFlows, type TopFlow, type TsharkCheck } from './top-flows';

export const DEMO_FILE = path.resolve(__dirname, '..', '..', 'demo', 'bro-org-http.pcap');

export interface DemoOptions { file?: string; keep?: boolean; top?: number; progress?: boolean; out?: (line: string) => void }

export interface DemoResult { replay: ReplayResult; top: TopFlow[]; tshark: TsharkCheck; pgUrl: string; brokers: string[]; servicesMs: number }

export async function runDemo(cfg: TaplineConfig, opts: DemoOptions = {}): Promise<DemoResult> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const file = path.resolve(opts.file ?? DEMO_FILE);
  if (!fs.existsSync(file)) throw new TaplineError('IO', 'demo', `capture file not found: ${file}`);
  const t0 = Date.now();
  out('tapline demo: starting Kafka and TimescaleDB (the first run downloads Kafka from Maven Central) ...');
  const services: Services = await startServices(cfg, (line) => process.stderr.write(`  ${line}\n`));
  const servicesMs = Date.now() - t0;
  try {
    out(`  kafka ${services.brokers.join(',')} (${services.startedKafka ? 'started' : 'already running'}), ` +
      `timescaledb ${services.pgUrl} (${services.embeddedDb ? (services.startedDb ? 'embedded, started' : 'embedded, already running') : 'external'}) in ${(servicesMs / 1000).toFixed(1)} s`);
    await ensurePipelineTopics(cfg, services.kafka);
    out(`replaying ${path.relative(process.cwd(), file) || file} -> ${cfg.topics.packets} -> aggregate -> ${cfg.topics.flows} -> flow_windows ...`);
    const replay = await replayFile(cfg, services.kafka, services.pool, file, { progress: opts.progress });
    const { capture: c, timingsMs: t } = replay;
    out(`  ${c.packets} packets (${c.bytes} bytes, ${c.malformed} malformed) published in ${t.publish} ms; ` +
      `${replay.flowWindows} flow windows in ${t.aggregate} ms; ${replay.rowsWritten} rows upserted in ${t.sink} ms` +
      `${replay.late ? `; ${replay.late} late records` : ''}${replay.deadLettered ? `; ${replay.deadLettered} dead-lettered` : ''}`);
    const top = await topFlows(services.pool, replay.observationPoint, opts.top ?? 10);
    out('');
    out(`Top flows of ${replay.observationPoint} (all windows, from TimescaleDB table flow_windows):`);
    out(formatTopFlows(top));
    const tshark = await checkAgainstTshark(services.pool, replay.observationPoint, file);
    out('');
    if (!tshark.available) out('tshark is not installed: skipped the comparison with `tshark -q -z conv,tcp`.');
    else if (tshark.mismatches.length === 0) out(`Checked against \`tshark -q -z conv,tcp\`: ${tshark.matched}/${tshark.compared} TCP conversations identical (frames and bytes each way).`);
    else out(`MISMATCH against tshark on ${tshark.mismatches.length} of ${tshark.compared} conversations:\n  ${tshark.mismatches.join('\n  ')}`);
    out('');
    out(`Look at it yourself:  ${services.embeddedDb ? psqlCommand(services.pgUrl) : `psql '${services.pgUrl}'`}`);
    out(`  SELECT window_start, host(addr_a), port_a, host(addr_b), port_b, bytes_ab, bytes_ba FROM flow_windows ORDER BY window_start LIMIT 20;`);
    if (services.embeddedDb) out('  (the embedded TimescaleDB is one backend session: keep one psql connection at a time)');
    if (opts.keep) {
      out('');
      out('--keep: Kafka and TimescaleDB stay up. Stop them with `npx tapline kafka stop && npx tapline db stop`.');
      await services.closeClients();
    } else {
      await services.stopStarted();
    }
    return { replay, top, tshark, pgUrl: services.pgUrl, brokers: services.brokers, servicesMs };
  } catch (e) {
    if (opts.keep) await services.closeClients(); else await services.stopStarted().catch(() => undefined);
    throw e;
  }
}

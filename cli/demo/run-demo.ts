/**
 * `tapline demo`: the whole pipeline end to end on recorded traffic. Starts (or reuses) Kafka
 * and TimescaleDB, replays the data through every stage and the sink, then prints what a user
 * wants to see: top flows per observation point (checked against tshark), the VM pairs with
 * their hosts, and the alerts — scored against the recording's ground truth when it has one.
 * By default the recorded lab scenario (demo/lab: two hosts, four VMs, injected anomalies, a
 * live migration); --file replays any single capture instead. Stops what it started unless --keep.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TaplineError } from '../../lib/errors';
import type { TaplineConfig } from '../../lib/config';
import { startServices, ensurePipelineTopics, type Services } from '../services';
import type { PipelineReplayResult } from '../../pipelines/replay';
import { psqlCommand } from '../commands/db';
import crypto from 'node:crypto';
import { AGGREGATE_SOURCES } from '../../lib/db/storage-config';
import { startDashboard } from '../../dashboard/server';
import { checkAgainstTshark, formatTopFlows, topFlows, type TopFlow, type TsharkCheck } from './top-flows';
import { LAB_DATASET, loadDataset, type Dataset } from './dataset';
import { replayAndEvaluate } from './evaluate-run';
import { occurrences, type AlertOccurrence, type Evaluation } from './evaluate';
import { formatVmPairs, vmPairs } from './vm-pairs';

export const DEMO_FILE = path.resolve(__dirname, '..', '..', 'demo', 'bro-org-http.pcap');
export { LAB_DATASET };

export interface DemoOptions {
  file?: string; dataset?: string; keep?: boolean; top?: number; progress?: boolean; out?: (line: string) => void;
  /** the CLI's own run: on SIGINT/SIGTERM during the replay, stop what the demo started and exit (130) */
  handleSignals?: boolean;
  /** then serve the dashboard on the demo's data until SIGINT/SIGTERM (the CLI's default on a terminal) */
  serve?: boolean;
}

export interface DemoResult {
  replay: PipelineReplayResult; top: TopFlow[]; tshark: TsharkCheck; pgUrl: string; brokers: string[]; servicesMs: number;
  alerts: AlertOccurrence[]; evaluation: Evaluation | null;
}

function datasetFor(opts: DemoOptions): Dataset {
  if (!opts.file) return loadDataset(path.resolve(opts.dataset ?? LAB_DATASET));
  const file = path.resolve(opts.file);
  if (!fs.existsSync(file)) throw new TaplineError('IO', 'demo', `capture file not found: ${file}`);
  return { dir: path.dirname(file), name: path.basename(file), vms: {}, groundTruth: null, replay: { captures: [{ file }] } };
}

export async function runDemo(cfg: TaplineConfig, opts: DemoOptions = {}): Promise<DemoResult> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const ds = datasetFor(opts); // before anything starts: a bad path is a clear error
  const t0 = Date.now();
  out('tapline demo: starting Kafka and TimescaleDB (the first run downloads Kafka from Maven Central) ...');
  const services: Services = await startServices(cfg, (line) => process.stderr.write(`  ${line}\n`));
  const servicesMs = Date.now() - t0;
  // Ctrl-C / SIGTERM during the replay: stop what the demo started (as its end does), then exit.
  // The dashboard phase (serveUntilSignal) handles the signals itself.
  const interrupted = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping what the demo started ...\n`);
    const stop = opts.keep ? services.closeClients() : services.stopStarted();
    void stop.catch(() => undefined).finally(() => process.exit(130));
  };
  const listen = (on: boolean): void => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) { if (on) process.once(sig, interrupted); else process.off(sig, interrupted); }
  };
  if (opts.handleSignals) listen(true);
  try {
    out(`  kafka ${services.brokers.join(',')} (${services.startedKafka ? 'started' : 'already running'}), ` +
      `timescaledb ${services.pgUrl} (${services.embeddedDb ? (services.startedDb ? 'embedded, started' : 'embedded, already running') : 'external'}) in ${(servicesMs / 1000).toFixed(1)} s`);
    await ensurePipelineTopics(cfg, services.kafka);
    out(`replaying ${ds.name} (${ds.replay.captures.map((c) => path.relative(process.cwd(), c.file) || c.file).join(', ')}) through the whole pipeline ...`);
    const run = await replayAndEvaluate(cfg, services.kafka, services.pool, ds, { log: (l) => out(`  ${l}`) });
    const { replay } = run;
    out(`  done in ${(replay.timingsMs.total / 1000).toFixed(1)} s`);

    let first: TopFlow[] = [];
    const tshark: TsharkCheck = { available: true, compared: 0, matched: 0, mismatches: [] };
    for (const c of replay.captures) {
      const top = await topFlows(services.pool, c.observationPoint, opts.top ?? 10);
      if (c === replay.captures[0]) first = top;
      out('');
      out(`Top flows of ${c.observationPoint} (all windows, from TimescaleDB table flow_windows):`);
      out(formatTopFlows(top));
      const t = await checkAgainstTshark(services.pool, c.observationPoint, c.file);
      tshark.available = t.available;
      tshark.compared += t.compared;
      tshark.matched += t.matched;
      tshark.mismatches.push(...t.mismatches);
    }
    out('');
    if (!tshark.available) out('tshark is not installed: skipped the comparison with `tshark -q -z conv,tcp`.');
    else if (tshark.mismatches.length === 0) out(`Checked against \`tshark -q -z conv,tcp\`: ${tshark.matched}/${tshark.compared} TCP conversations identical (frames and bytes each way).`);
    else out(`MISMATCH against tshark on ${tshark.mismatches.length} of ${tshark.compared} conversations:\n  ${tshark.mismatches.join('\n  ')}`);

    if ((ds.replay.inventory ?? []).length) {
      out('');
      out('VM pairs with their hosts (TimescaleDB table identified_flows; a migrated VM shows on both hosts):');
      out(formatVmPairs(await vmPairs(services.pool, replay.captures.map((c) => c.observationPoint), opts.top ?? 10)));
    }

    const alerts = occurrences(run.alerts);
    const t0ns = ds.groundTruth?.scenario.start_ns ?? (replay.captures[0]?.firstTsNs ?? 0n);
    out('');
    out(`Alerts (${alerts.length}; topic tapline.alerts.v1, table alerts; t from the capture start):`);
    for (const a of alerts) out(`  +${(Number(a.firstSeenNs - BigInt(t0ns)) / 1e9).toFixed(0).padStart(4)}s  ${a.severity.padEnd(8)} ${a.type.padEnd(20)} ${a.summary}`);
    if (run.evaluation) {
      out('');
      out('Scored against the recording\'s ground truth (what was injected when; see demo/lab/README.md):');
      out(run.report);
    }
    out('');
    out(`Look at it yourself:  ${services.embeddedDb ? psqlCommand(services.pgUrl) : `psql '${services.pgUrl}'`}`);
    out(`  SELECT window_start, host(addr_a), port_a, host(addr_b), port_b, bytes_ab, bytes_ba FROM flow_windows ORDER BY window_start LIMIT 20;`);
    out(`  SELECT type, state, summary FROM alerts ORDER BY first_seen LIMIT 20;`);
    if (services.embeddedDb) out('  (the embedded TimescaleDB is one backend session: keep one psql connection at a time)');
    // Materialize the continuous aggregates over everything (bottom-up: 1 min, 1 h, 1 day), as the
    // embedded server has no background jobs. No retention here: the recording is older than any
    // raw-data horizon a user would configure, and the demo must not drop what it just loaded.
    for (const level of ['1m', '1h', '1d']) {
      for (const cagg of Object.keys(AGGREGATE_SOURCES).filter((c) => c.endsWith(level))) {
        await services.pool.query(`CALL refresh_continuous_aggregate('${cagg}', NULL, NULL)`);
      }
    }
    const span = (await services.pool.query<{ f: string; t: string }>(
      `SELECT to_char(date_trunc('minute', min(window_start)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"') AS f,
              to_char(date_trunc('minute', max(window_end)) AT TIME ZONE 'UTC' + interval '1 minute', 'YYYY-MM-DD"T"HH24:MI"Z"') AS t FROM flow_windows`)).rows[0];
    out(`  continuous aggregates refreshed (1 min -> 1 h -> 1 day); analyst functions, e.g.:`);
    out(`  SELECT * FROM top_talkers('${span.f}', '${span.t}', 10);   -- docs/sql.md has more`);
    listen(false);
    if (opts.serve) await serveUntilSignal(cfg, services, out);
    if (opts.keep) {
      out('');
      out('--keep: Kafka and TimescaleDB stay up. Stop them with `npx tapline kafka stop && npx tapline db stop`.');
      await services.closeClients();
    } else {
      await services.stopStarted();
    }
    return { replay, top: first, tshark, pgUrl: services.pgUrl, brokers: services.brokers, servicesMs, alerts, evaluation: run.evaluation };
  } catch (e) {
    if (opts.keep) await services.closeClients(); else await services.stopStarted().catch(() => undefined);
    throw e;
  } finally {
    listen(false);
  }
}

/** The dashboard on the demo's data, with one-run tokens, until Ctrl-C / SIGTERM. */
async function serveUntilSignal(cfg: TaplineConfig, services: Services, out: (line: string) => void): Promise<void> {
  const token = () => crypto.randomBytes(18).toString('base64url');
  const tokens = { viewer: [token()], operator: [token()] };
  const dash = await startDashboard(cfg, { pool: services.pool }, { tokens });
  out('');
  out(`Dashboard: ${dash.url}   (sign in with a token of this run)`);
  out(`  operator token (can ack/resolve alerts): ${tokens.operator[0]}`);
  out(`  viewer token   (read only):              ${tokens.viewer[0]}`);
  out('  Ctrl-C stops the dashboard and the services the demo started.');
  // Listeners stay installed while we clean up: a second signal (Ctrl-C twice, or a supervisor
  // that signals the whole process group) must not kill us before the services are stopped.
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => { stop = resolve; });
  const onSignal = () => stop();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await stopped;
  out('stopping ...');
  await dash.close(); // the listeners stay: the caller stops the services next, then the process ends
}

/**
 * The pipeline's long-running parts as commands, one process each (what docker-compose runs):
 *   tapline capture <type> [--set key=value ...]   a capture connector
 *   tapline stage <name>                            a stream stage (run N of them to scale)
 *   tapline sink timescale                          the TimescaleDB sink
 *   tapline topics                                  create the pipeline's topics
 */
import type { Command } from 'commander';
import YAML from 'yaml';
import { configFrom, withServiceOptions } from '../options';
import { ensurePipelineTopics, startServices } from '../services';
import { runUntilSignal } from '../run-until-signal';
import { createConnector, connectorRegistry, validateConnectorConfig } from '../../connectors/registry';
import type { Services } from '../services';
import { StageRunner } from '../../pipelines/runtime/kafka-runner';
import { createStage, STAGES } from '../../pipelines/registry';
import { TimescaleSink, sinkConfigFrom, sinkTopics } from '../../pipelines/sinks/timescale';
import { TaplineError } from '../../lib/errors';
import { startStorageMaintenance } from '../../lib/db/storage-policies';
import type { TaplineConfig } from '../../lib/config';

function collectSet(v: string, prev: Record<string, unknown>): Record<string, unknown> {
  const i = v.indexOf('=');
  if (i <= 0) throw new TaplineError('CONFIG_INVALID', 'cli', `--set expects key=value, got "${v}"`);
  return { ...prev, [v.slice(0, i)]: YAML.parse(v.slice(i + 1)) };
}

/** Runs `fn` with the services up; the clients are closed however it ends (so the process can exit). */
async function withServices(cfg: TaplineConfig, fn: (s: Services) => Promise<void>): Promise<void> {
  const s = await startServices(cfg);
  try {
    await ensurePipelineTopics(cfg, s.kafka);
    await fn(s);
  } finally {
    await s.closeClients();
  }
}

export function register(program: Command): void {
  withServiceOptions(program.command('capture <type>'))
    .description(`run a capture connector (types: ${[...connectorRegistry().keys()].join(', ')})`)
    .option('--set <key=value>', 'connector setting (repeatable), e.g. --set path=demo/bro-org-http.pcap', collectSet, {})
    .action(async (type: string, opts: { set: Record<string, unknown> }, cmd: Command) => {
      const cfg = configFrom(cmd);
      const packets = connectorRegistry().get(type)?.emitsPackets ? { topic: cfg.topics.packets } : {};
      validateConnectorConfig(type, { ...packets, ...opts.set }); // before anything is started
      await withServices(cfg, async (s) => {
        const connector = createConnector(type, { ...packets, ...opts.set }, s.kafka);
        await connector.start();
        await runUntilSignal(cfg, `capture ${type}`, connector.done(), () => connector.close());
        const summary = await connector.done();
        process.stdout.write(`${JSON.stringify({ ...summary, firstTsNs: String(summary.firstTsNs), lastTsNs: String(summary.lastTsNs) })}\n`);
      });
    });

  withServiceOptions(program.command('stage <name>'))
    .description(`run one worker of a stream stage (stages: ${Object.keys(STAGES).join(', ')}; join names with + to fuse stages on the same input into one task, e.g. aggregate+metrics); start more to scale out`)
    .option('--bounded', 'stop after the records that exist now (replays)', false)
    .option('--group <id>', 'consumer group (and transactional/changelog namespace); default tapline-<name>')
    .action(async (name: string, opts: { bounded: boolean; group?: string }, cmd: Command) => {
      const cfg = configFrom(cmd);
      const def = createStage(name, cfg);
      await withServices(cfg, async (s) => {
        const runner = new StageRunner(def, { kafka: s.kafka, deadLetterTopic: cfg.topics.deadLetter, bounded: opts.bounded,
          groupId: opts.group, guarantee: cfg.kafka.guarantee, commitIntervalMs: cfg.kafka.commitIntervalMs });
        await runner.start();
        await runUntilSignal(cfg, `stage ${name}`, runner.done(), () => runner.close());
      });
    });

  withServiceOptions(program.command('sink <kind>'))
    .description('run a sink (kinds: timescale)')
    .option('--bounded', 'stop after the records that exist now', false)
    .action(async (kind: string, opts: { bounded: boolean }, cmd: Command) => {
      if (kind !== 'timescale') throw new TaplineError('CONFIG_INVALID', 'cli', `unknown sink "${kind}" (kinds: timescale)`);
      const cfg = configFrom(cmd);
      sinkTopics(sinkConfigFrom(cfg)); // unknown tables: a clear error before anything starts
      await withServices(cfg, async (s) => {
        const sink = new TimescaleSink(sinkConfigFrom(cfg), { kafka: s.kafka, pool: s.pool, bounded: opts.bounded });
        await sink.start(); // applies the migrations
        // The streaming sink also owns the storage policies: retention, compression and the
        // continuous-aggregate refreshes (run by its own timer on the embedded server, which has
        // no background workers; a server's scheduler runs them itself).
        const maintenance = opts.bounded ? null : await startStorageMaintenance(s.pgUrl, cfg.storage, { embedded: s.embeddedDb });
        await runUntilSignal(cfg, 'sink timescale', sink.done(), async () => { await maintenance?.close(); await sink.close(); });
      });
    });

  withServiceOptions(program.command('topics'))
    .description('create the pipeline\'s Kafka topics (missing ones only)')
    .action(async (_opts: unknown, cmd: Command) => {
      const cfg = configFrom(cmd);
      await withServices(cfg, async (s) => {
        process.stdout.write(`topics ready on ${s.brokers.join(',')}: ${Object.values(cfg.topics).join(', ')}\n`);
      });
    });
}

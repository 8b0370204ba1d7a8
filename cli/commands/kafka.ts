/**
 * `tapline kafka start|stop|status`: the single-node Apache Kafka broker tapline runs itself
 * (lib/services/kafka-broker.ts). `start` leaves the broker running in the background;
 * with --brokers (or TAPLINE_KAFKA_BROKERS) it only checks the user's cluster and starts nothing.
 */
import { Command } from 'commander';
import { positiveInt } from '../options';
import path from 'node:path';
import { loadConfig } from '../../lib/config';
import { logger } from '../../lib/log';
import { ensureKafka, KafkaBroker, KafkaBrokerOptions, parseBrokerList } from '../../lib/services/kafka-broker';

const log = logger('cli-kafka');

interface BrokerFlags {
  stateDir?: string;
  port?: number;
  heap?: string;
  partitions?: number;
  java?: string;
  mvn?: string;
  timeout?: number;
}

const int = positiveInt;

function withBrokerOptions(cmd: Command): Command {
  return cmd
    .option('--state-dir <dir>', 'config, data, log and pid file of the broker (default: ./.tapline/kafka)')
    .option('--port <port>', 'client port; the KRaft controller uses port+1 (default: 19092)', int('--port'));
}

/** Flags win; otherwise the configuration (tapline.yaml, TAPLINE_STATE_DIR, …) as every command uses it. */
function brokerOptions(cmd: Command, f: BrokerFlags): KafkaBrokerOptions {
  const cfg = loadConfig((cmd.optsWithGlobals() as { config?: string }).config, process.env);
  return {
    stateDir: f.stateDir ?? path.join(cfg.stateDir, 'kafka'),
    port: f.port ?? cfg.kafka.embeddedPort,
    heap: f.heap,
    numPartitions: f.partitions,
    javaBin: f.java,
    mvnBin: f.mvn,
    startTimeoutMs: f.timeout !== undefined ? f.timeout * 1000 : undefined,
  };
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function register(program: Command): void {
  const kafka = program.command('kafka').description('run a local single-node Apache Kafka broker, or check your own cluster');

  withBrokerOptions(kafka.command('start'))
    .description('start the local broker (fetched from Maven Central on first use) and leave it running; idempotent')
    .option('--brokers <list>', 'use your own cluster (host:port,...; env TAPLINE_KAFKA_BROKERS): only checked, nothing started')
    .option('--heap <flags>', 'JVM heap flags (default: -Xmx768m)')
    .option('--partitions <n>', 'default partitions of new topics (default: 4)', int('--partitions'))
    .option('--java <path>', 'java executable (default: java)')
    .option('--mvn <path>', 'mvn executable, used once to fetch Kafka (default: mvn)')
    .option('--timeout <seconds>', 'how long to wait for the broker to answer (default: 120)', int('--timeout'))
    .action(async (f: BrokerFlags & { brokers?: string }, cmd: Command) => {
      const t0 = Date.now();
      const brokers = f.brokers !== undefined ? parseBrokerList(f.brokers) : undefined;
      const { brokers: list, broker } = await ensureKafka({ brokers, ...brokerOptions(cmd, f) });
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      if (broker === null) {
        log.info({ brokers: list }, 'external kafka reachable');
        out(`Kafka at ${list.join(',')} answers; using it, nothing started.`);
        return;
      }
      const st = await broker.status();
      log.info({ brokers: list, pid: st.pid, seconds: Number(secs) }, 'kafka ready');
      out(`Kafka ready at ${list.join(',')} (pid ${st.pid}, ${secs}s; log ${st.logFile})`);
    });

  withBrokerOptions(kafka.command('stop'))
    .description('stop the broker `tapline kafka start` started from this state dir (never another process)')
    .action(async (f: BrokerFlags, cmd: Command) => {
      const stopped = await new KafkaBroker(brokerOptions(cmd, f)).stop();
      out(stopped ? 'Kafka broker stopped.' : 'No tapline Kafka broker is running.');
    });

  withBrokerOptions(kafka.command('status'))
    .description('is the local broker running and answering? (exit code 1 when not)')
    .option('--json', 'print the status as JSON')
    .action(async (f: BrokerFlags & { json?: boolean }, cmd: Command) => {
      const st = await new KafkaBroker(brokerOptions(cmd, f)).status();
      if (f.json) out(JSON.stringify(st));
      else if (st.ready) out(`running, ready at ${st.brokers.join(',')} (pid ${st.pid}; log ${st.logFile})`);
      else if (st.running) out(`running (pid ${st.pid}) but not answering on ${st.brokers.join(',')}; see ${st.logFile}`);
      else out(`not running (state dir ${st.stateDir})`);
      if (!st.ready) process.exitCode = 1;
    });
}

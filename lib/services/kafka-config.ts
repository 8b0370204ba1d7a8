/**
 * Options of the embedded Kafka broker, their defaults, and the single-node KRaft
 * server.properties written from them.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { defaultKafkaCacheDir } from './kafka-maven';

export interface KafkaBrokerOptions {
  /** Directory for config, data, log and pid file (default <cwd>/.tapline/kafka). */
  stateDir?: string;
  /** Client (PLAINTEXT) port, default 19092. */
  port?: number;
  /** KRaft controller port, default port + 1 (19093). */
  controllerPort?: number;
  /** Listen and advertise address, default 127.0.0.1. */
  host?: string;
  /** JVM heap flags, whitespace separated, default '-Xmx768m'. */
  heap?: string;
  /** num.partitions for topics created without an explicit count, default 4. */
  numPartitions?: number;
  javaBin?: string;
  mvnBin?: string;
  /** Where the jars are cached, default ${TAPLINE_CACHE_DIR:-~/.cache/tapline}/kafka-3.9.1. */
  cacheDir?: string;
  /** From JVM launch until the broker answers a metadata request, default 120 s. */
  startTimeoutMs?: number;
  /** SIGTERM grace period before SIGKILL, default 30 s. */
  stopTimeoutMs?: number;
  /** Progress lines of the first Maven fetch (default: stderr). */
  onProgress?: (line: string) => void;
}

export type ResolvedKafkaBrokerOptions =
  Required<Omit<KafkaBrokerOptions, 'onProgress'>> & Pick<KafkaBrokerOptions, 'onProgress'>;

export function resolveOptions(opts: KafkaBrokerOptions): ResolvedKafkaBrokerOptions {
  const port = opts.port ?? 19092;
  return {
    stateDir: path.resolve(opts.stateDir ?? path.join(process.cwd(), '.tapline', 'kafka')),
    port,
    controllerPort: opts.controllerPort ?? port + 1,
    host: opts.host ?? '127.0.0.1',
    heap: opts.heap ?? '-Xmx768m',
    numPartitions: opts.numPartitions ?? 4,
    javaBin: opts.javaBin ?? 'java',
    mvnBin: opts.mvnBin ?? 'mvn',
    cacheDir: path.resolve(opts.cacheDir ?? defaultKafkaCacheDir()),
    startTimeoutMs: opts.startTimeoutMs ?? 120_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 30_000,
    onProgress: opts.onProgress,
  };
}

/** server.properties of a single-node KRaft cluster (broker and controller in one JVM). */
export function renderServerProperties(o: ResolvedKafkaBrokerOptions, dataDir: string): string {
  return [
    `# Written by tapline (lib/services/kafka-broker.ts) at every start; edits are overwritten.`,
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${o.host}:${o.controllerPort}`,
    `listeners=PLAINTEXT://${o.host}:${o.port},CONTROLLER://${o.host}:${o.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${o.host}:${o.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    `num.partitions=${o.numPartitions}`,
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    // One node needs no 50 coordinator partitions (the default): creating them is most of the
    // first consumer group join's and the first transaction's wait on a fresh broker.
    'offsets.topic.num.partitions=4',
    'transaction.state.log.num.partitions=4',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    '',
  ].join('\n');
}

/** A Kafka cluster id: 16 random bytes, base64url without padding (what Uuid.toString() gives). */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    child.on('error', (e) => resolve({ code: -1, output: e.message }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

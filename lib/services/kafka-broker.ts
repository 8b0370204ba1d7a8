/**
 * A real single-node Apache Kafka broker (KRaft, broker+controller in one JVM) that tapline
 * starts itself, or an external cluster the user points at with --brokers / TAPLINE_KAFKA_BROKERS.
 *
 * Everything lives in `stateDir` (default <cwd>/.tapline/kafka): server.properties, data/,
 * kafka.log (log4j + the JVM's stdout/stderr), kafka.pid, cluster.id, start.lock. The jars come
 * from Maven Central once (see kafka-maven.ts). The broker is a detached process: it outlives the
 * CLI that started it, and `stop()` only signals the pid from our pid file after checking its
 * /proc/<pid>/cmdline names kafka.Kafka and our own server.properties.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaplineError } from '../errors';
import { probeKafka } from '../kafka';
import { logger } from '../log';
import { checkJava, ensureKafkaLibs, kafkaScriptsDir, KAFKA_VERSION } from './kafka-maven';
import {
  KafkaBrokerOptions, newClusterId, readText, renderServerProperties, resolveOptions, ResolvedKafkaBrokerOptions, run,
} from './kafka-config';
import { acquireLock, fileSize, isAlive, isOurBroker, portInUse, readPidFile, tailFile, waitExit } from './kafka-proc';

export type { KafkaBrokerOptions } from './kafka-config';

const STAGE = 'kafka-broker';
const log = logger(STAGE);

export interface KafkaBrokerStatus {
  /** Our broker process (from the pid file) is alive. */
  running: boolean;
  /** It answers a metadata request. */
  ready: boolean;
  pid: number | null;
  brokers: string[];
  stateDir: string;
  logFile: string;
}

export class KafkaBroker {
  readonly options: ResolvedKafkaBrokerOptions;
  readonly configFile: string;
  readonly logFile: string;
  readonly pidFile: string;
  readonly dataDir: string;
  private inflight: Promise<{ brokers: string[]; started: boolean }> | null = null;

  constructor(opts: KafkaBrokerOptions = {}) {
    this.options = resolveOptions(opts);
    const dir = this.options.stateDir;
    this.configFile = path.join(dir, 'server.properties');
    this.logFile = path.join(dir, 'kafka.log');
    this.pidFile = path.join(dir, 'kafka.pid');
    this.dataDir = path.join(dir, 'data');
  }

  get brokers(): string[] {
    return [`${this.options.host}:${this.options.port}`];
  }

  /** Starts the broker, or reuses the one this stateDir already runs (started: false). */
  start(): Promise<{ brokers: string[]; started: boolean }> {
    this.inflight ??= this.doStart().finally(() => { this.inflight = null; });
    return this.inflight;
  }

  /** Stops our broker; false when none was running. Never signals a process that is not ours. */
  async stop(): Promise<boolean> {
    const pid = this.ourPid();
    if (pid === null) return false;
    const t0 = Date.now();
    log.info({ pid }, 'stopping kafka broker');
    try {
      process.kill(pid, 'SIGTERM');
    } catch { /* exited meanwhile */ }
    if (!(await waitExit(pid, this.options.stopTimeoutMs))) {
      log.warn({ pid, timeoutMs: this.options.stopTimeoutMs }, 'kafka broker ignored SIGTERM, sending SIGKILL');
      if (isOurBroker(pid, this.configFile)) process.kill(pid, 'SIGKILL');
      await waitExit(pid, 10_000);
    }
    fs.rmSync(this.pidFile, { force: true });
    log.info({ pid, ms: Date.now() - t0 }, 'kafka broker stopped');
    return true;
  }

  async status(): Promise<KafkaBrokerStatus> {
    const pid = this.ourPid();
    const ready = pid !== null && (await probeKafka(this.brokers, 2000)).ok;
    return { running: pid !== null, ready, pid, brokers: this.brokers, stateDir: this.options.stateDir, logFile: this.logFile };
  }

  /** The pid from our pid file if that process is our broker; removes a stale pid file. */
  private ourPid(): number | null {
    const pid = readPidFile(this.pidFile);
    if (pid === null) return null;
    if (isOurBroker(pid, this.configFile)) return pid;
    fs.rmSync(this.pidFile, { force: true });
    return null;
  }

  private async doStart(): Promise<{ brokers: string[]; started: boolean }> {
    const o = this.options;
    fs.mkdirSync(o.stateDir, { recursive: true });
    let release: () => void;
    try {
      // Generous: another process holding the lock may be fetching the jars for minutes.
      release = await acquireLock(path.join(o.stateDir, 'start.lock'), 15 * 60_000 + o.startTimeoutMs);
    } catch (e) {
      throw new TaplineError('KAFKA_START_FAILED', STAGE, (e as Error).message, { cause: e });
    }
    try {
      const config = this.renderConfig();
      const running = this.ourPid();
      if (running !== null) {
        if (readText(this.configFile) !== config) {
          throw new TaplineError('KAFKA_START_FAILED', STAGE,
            `a Kafka broker (pid ${running}) started from ${o.stateDir} runs with a different configuration; ` +
            'stop it first (`tapline kafka stop`)');
        }
        await this.waitReady(running, Date.now() + o.startTimeoutMs, 0, () => null);
        log.info({ pid: running, brokers: this.brokers }, 'kafka broker already running');
        return { brokers: this.brokers, started: false };
      }
      const javaVersion = checkJava(o.javaBin);
      const { libsDir } = await ensureKafkaLibs({ cacheDir: o.cacheDir, mvnBin: o.mvnBin, onProgress: o.onProgress });
      for (const port of [o.port, o.controllerPort]) {
        if (await portInUse(o.host, port)) {
          throw new TaplineError('KAFKA_START_FAILED', STAGE,
            `port ${port} on ${o.host} is already in use by a process that is not the broker tapline started ` +
            `from ${o.stateDir}. Stop it, choose other ports (--port), or, if it is a Kafka broker, ` +
            `use it with --brokers ${o.host}:${o.port}.`);
        }
      }
      fs.writeFileSync(this.configFile, config);
      fs.mkdirSync(this.dataDir, { recursive: true });
      const classpath = `${libsDir}/*`;
      await this.formatOnce(classpath);
      return await this.launch(classpath, javaVersion);
    } finally {
      release();
    }
  }

  private jvmArgs(classpath: string): string[] {
    return [
      ...this.options.heap.split(/\s+/).filter(Boolean),
      '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${path.join(kafkaScriptsDir(), 'log4j.properties')}`,
      `-Dtapline.kafka.log=${this.logFile}`, `-Dkafka.logs.dir=${this.options.stateDir}`,
      '-cp', classpath,
    ];
  }

  /** kafka.tools.StorageTool format, once per stateDir, with a cluster id kept in cluster.id. */
  private async formatOnce(classpath: string): Promise<void> {
    if (fs.existsSync(path.join(this.dataDir, 'meta.properties'))) return;
    const idFile = path.join(this.options.stateDir, 'cluster.id');
    let clusterId = readText(idFile).trim();
    if (!clusterId) {
      clusterId = newClusterId();
      fs.writeFileSync(idFile, `${clusterId}\n`);
    }
    const t0 = Date.now();
    const args = [...this.jvmArgs(classpath), 'kafka.tools.StorageTool', 'format', '--ignore-formatted',
      '-t', clusterId, '-c', this.configFile];
    const { code, output } = await run(this.options.javaBin, args);
    if (code !== 0) {
      throw new TaplineError('KAFKA_START_FAILED', STAGE,
        `formatting Kafka storage in ${this.dataDir} failed (exit code ${code}):\n${output.trim()}\n${tailFile(this.logFile, 20)}`);
    }
    log.info({ clusterId, dataDir: this.dataDir, ms: Date.now() - t0 }, 'kafka storage formatted');
  }

  private async launch(classpath: string, javaVersion: string): Promise<{ brokers: string[]; started: boolean }> {
    const o = this.options;
    const t0 = Date.now();
    const logFrom = fileSize(this.logFile);
    const out = fs.openSync(this.logFile, 'a');
    fs.writeSync(out, `---- ${new Date().toISOString()} tapline starts Apache Kafka ${KAFKA_VERSION} (${javaVersion})\n`);
    let exit: string | null = null;
    const child = spawn(o.javaBin, [...this.jvmArgs(classpath), 'kafka.Kafka', this.configFile],
      { detached: true, stdio: ['ignore', out, out], cwd: o.stateDir });
    fs.closeSync(out);
    child.on('error', (e) => { exit = e.message; });
    child.on('exit', (code, signal) => { exit = signal ? `killed by ${signal}` : `exit code ${code}`; });
    child.unref();
    await sleep(0); // let a synchronous spawn failure ('error') land first
    if (child.pid === undefined) {
      throw new TaplineError('KAFKA_START_FAILED', STAGE, `cannot launch ${o.javaBin}: ${exit ?? 'unknown error'}`);
    }
    const pid = child.pid;
    fs.writeFileSync(this.pidFile, `${pid}\n`);
    log.info({ pid, brokers: this.brokers, logFile: this.logFile }, 'kafka broker launched');
    try {
      // Ready only when the broker answering is ours (the cluster id of our data dir): another
      // broker started at the same moment on the same port would otherwise pass for ours.
      const clusterId = /^cluster\.id=(.+)$/m.exec(readText(path.join(this.dataDir, 'meta.properties')))?.[1]?.trim() ?? null;
      await this.waitReady(pid, t0 + o.startTimeoutMs, logFrom, () => exit, clusterId);
    } catch (e) {
      if (isOurBroker(pid, this.configFile)) await this.stop(); // timed out: do not leave a half-started JVM
      fs.rmSync(this.pidFile, { force: true });
      throw e;
    }
    log.info({ pid, brokers: this.brokers, ms: Date.now() - t0 }, 'kafka broker ready');
    return { brokers: this.brokers, started: true };
  }

  /** Polls probeKafka until the broker answers; throws with the log tail if it dies or times out. */
  private async waitReady(
    pid: number, deadline: number, logFrom: number, exited: () => string | null, clusterId: string | null = null,
  ): Promise<void> {
    let last = '';
    for (;;) {
      const why = exited() ?? (isAlive(pid) ? null : 'process exited');
      if (why !== null) {
        throw new TaplineError('KAFKA_START_FAILED', STAGE,
          `the Kafka broker (pid ${pid}) died during start (${why}); last lines of ${this.logFile}:\n` +
          tailFile(this.logFile, 40, logFrom));
      }
      const r = await probeKafka(this.brokers, 1000);
      if (r.ok && (r.brokers ?? 0) > 0) {
        const answering = clusterId === null ? null : r.clusterId ?? null;
        if (answering === clusterId) return;
        last = `the broker answering is of cluster ${answering ?? '?'}, not ours (${clusterId})`;
      } else {
        last = r.error ?? 'no broker registered yet';
      }
      if (Date.now() >= deadline) {
        throw new TaplineError('KAFKA_START_FAILED', STAGE,
          `the Kafka broker (pid ${pid}) did not answer metadata requests on ${this.brokers.join(',')} ` +
          `in time (last error: ${last}); last lines of ${this.logFile}:\n${tailFile(this.logFile, 40, logFrom)}`,
          { retriable: true });
      }
      await sleep(250);
    }
  }

  renderConfig(): string {
    return renderServerProperties(this.options, this.dataDir);
  }
}

/**
 * The Kafka to use: the user's cluster (opts.brokers, else env TAPLINE_KAFKA_BROKERS, comma
 * separated), which must answer a metadata request and nothing is started; otherwise the
 * embedded broker, started (or reused) with the remaining options.
 */
export async function ensureKafka(
  opts: { brokers?: string[] } & KafkaBrokerOptions = {},
): Promise<{ brokers: string[]; broker: KafkaBroker | null }> {
  const { brokers: given, ...brokerOpts } = opts;
  const external = given && given.length > 0 ? given : parseBrokerList(process.env.TAPLINE_KAFKA_BROKERS ?? '');
  if (external.length > 0) {
    let r = await probeKafka(external, 3000);
    for (let i = 0; i < 2 && !r.ok; i++) {
      await sleep(1000);
      r = await probeKafka(external, 3000);
    }
    if (!r.ok) {
      throw new TaplineError('KAFKA_UNREACHABLE', STAGE,
        `Kafka at ${external.join(',')} does not answer metadata requests (${r.error}). Check the address ` +
        '(--brokers / TAPLINE_KAFKA_BROKERS), or leave both unset to let tapline start its own broker.',
        { retriable: true });
    }
    log.info({ brokers: external }, 'using external kafka cluster');
    return { brokers: external, broker: null };
  }
  const broker = new KafkaBroker(brokerOpts);
  const { brokers } = await broker.start();
  return { brokers, broker };
}

/** "a:1, b:2" -> ['a:1', 'b:2']; throws CONFIG_INVALID on an entry that is not host:port. */
export function parseBrokerList(text: string): string[] {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const b of list) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(b)) {
      throw new TaplineError('CONFIG_INVALID', STAGE, `'${b}' is not a Kafka broker address (host:port)`);
    }
  }
  return list;
}

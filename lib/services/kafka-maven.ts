/**
 * Resolves the Apache Kafka broker's runtime classpath from Maven Central with the pinned
 * scripts/kafka/pom.xml, into a cache directory outside git
 * (default `${TAPLINE_CACHE_DIR:-~/.cache/tapline}/kafka-<version>/libs`), and checks the tools
 * that needs (java, mvn). The libs directory is filled in a temporary directory and renamed into
 * place with a marker holding the pom's sha256, so a fetch cut short is simply redone and an
 * edited pom is picked up on the next start.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { TaplineError } from '../errors';

export const KAFKA_VERSION = '3.9.1';
export const KAFKA_CORE_JAR = `kafka_2.13-${KAFKA_VERSION}.jar`;
const MARKER = '.tapline-complete';
const STAGE = 'kafka-broker';

/** Directory holding scripts/kafka (pom.xml, log4j.properties), found upward from this module. */
export function kafkaScriptsDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'scripts', 'kafka');
    if (fs.existsSync(path.join(candidate, 'pom.xml'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new TaplineError('INTERNAL', STAGE, `scripts/kafka/pom.xml not found above ${__dirname}`);
}

export function defaultKafkaCacheDir(): string {
  const root = process.env.TAPLINE_CACHE_DIR || path.join(os.homedir(), '.cache', 'tapline');
  return path.join(root, `kafka-${KAFKA_VERSION}`);
}

/** Throws JAVA_MISSING when `javaBin` cannot run; returns the version line (`openjdk version "17..."`). */
export function checkJava(javaBin: string): string {
  const r = spawnSync(javaBin, ['-version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) {
    const why = r.error ? (r.error as NodeJS.ErrnoException).code ?? r.error.message : `exit code ${r.status}`;
    throw new TaplineError('JAVA_MISSING', STAGE,
      `Java is needed to run the Kafka broker but '${javaBin}' cannot be run (${why}). ` +
      'Install a JRE (Java 17: `apt-get install openjdk-17-jre-headless`), pass --java <path>, ' +
      'or use your own cluster with --brokers host:port / TAPLINE_KAFKA_BROKERS.');
  }
  return (`${r.stderr}${r.stdout}`.split('\n').find((l) => /version/.test(l)) ?? '').trim();
}

/** Throws MAVEN_MISSING when `mvnBin` cannot run. */
export function checkMaven(mvnBin: string): void {
  const r = spawnSync(mvnBin, ['-v'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status !== 0) {
    const why = r.error ? (r.error as NodeJS.ErrnoException).code ?? r.error.message : `exit code ${r.status}`;
    throw new TaplineError('MAVEN_MISSING', STAGE,
      `Maven is needed once to fetch Apache Kafka ${KAFKA_VERSION} from Maven Central but '${mvnBin}' ` +
      `cannot be run (${why}). Install it (\`apt-get install maven\`), pass --mvn <path>, ` +
      'or use your own cluster with --brokers host:port / TAPLINE_KAFKA_BROKERS.');
  }
}

function pomHash(pom: string): string {
  return createHash('sha256').update(fs.readFileSync(pom)).digest('hex');
}

export interface ResolveOptions {
  cacheDir: string;
  mvnBin: string;
  /** One line of progress for a human (default: written to stderr). */
  onProgress?: (line: string) => void;
}

/** Returns the libs directory (cached or freshly fetched) holding the broker's jars. */
export async function ensureKafkaLibs(opts: ResolveOptions): Promise<{ libsDir: string; fetched: boolean; ms: number }> {
  const t0 = Date.now();
  const pom = path.join(kafkaScriptsDir(), 'pom.xml');
  const hash = pomHash(pom);
  const libsDir = path.join(opts.cacheDir, 'libs');
  if (isComplete(libsDir, hash)) return { libsDir, fetched: false, ms: Date.now() - t0 };

  checkMaven(opts.mvnBin);
  const progress = opts.onProgress ?? ((l: string) => process.stderr.write(`${l}\n`));
  fs.mkdirSync(opts.cacheDir, { recursive: true });
  const tmp = path.join(opts.cacheDir, `libs.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  const mvnLog = path.join(opts.cacheDir, 'mvn.log');
  progress(`kafka: fetching Apache Kafka ${KAFKA_VERSION} from Maven Central into ${libsDir} ` +
    '(first run only; may take a few minutes)');
  await runMaven(opts.mvnBin, ['-B', '-Dstyle.color=never', '-f', pom, 'dependency:copy-dependencies',
    '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`], mvnLog, progress);
  if (!fs.existsSync(path.join(tmp, KAFKA_CORE_JAR))) {
    throw new TaplineError('KAFKA_START_FAILED', STAGE, `Maven finished but ${KAFKA_CORE_JAR} is not in ${tmp}; see ${mvnLog}`);
  }
  fs.writeFileSync(path.join(tmp, MARKER), `${hash}\n`);
  if (isComplete(libsDir, hash)) {
    fs.rmSync(tmp, { recursive: true, force: true }); // another process finished first
  } else {
    const old = `${libsDir}.old-${process.pid}`;
    if (fs.existsSync(libsDir)) fs.renameSync(libsDir, old);
    fs.renameSync(tmp, libsDir);
    fs.rmSync(old, { recursive: true, force: true });
  }
  const ms = Date.now() - t0;
  progress(`kafka: ${fs.readdirSync(libsDir).filter((f) => f.endsWith('.jar')).length} jars ready in ${(ms / 1000).toFixed(1)}s`);
  return { libsDir, fetched: true, ms };
}

function isComplete(libsDir: string, hash: string): boolean {
  try {
    return fs.readFileSync(path.join(libsDir, MARKER), 'utf8').trim() === hash
      && fs.existsSync(path.join(libsDir, KAFKA_CORE_JAR));
  } catch {
    return false;
  }
}

/** Runs mvn, logging everything to `logFile` and a condensed progress line per downloaded artifact. */
function runMaven(mvnBin: string, args: string[], logFile: string, progress: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = fs.createWriteStream(logFile);
    log.write(`$ ${mvnBin} ${args.join(' ')}\n`);
    const child = spawn(mvnBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let downloads = 0;
    const onLine = (line: string) => {
      log.write(`${line}\n`);
      tail.push(line);
      if (tail.length > 30) tail.shift();
      const m = /^\[INFO\] Downloaded from \S+: \S+\/([^/\s]+\.jar) \(([^)]*)\)/.exec(line);
      if (m) progress(`kafka: mvn [${++downloads}] ${m[1]} (${m[2]})`);
      else if (/^\[(ERROR|WARNING)\]/.test(line)) progress(`kafka: mvn ${line}`);
    };
    readline.createInterface({ input: child.stdout }).on('line', onLine);
    readline.createInterface({ input: child.stderr }).on('line', onLine);
    child.on('error', (e) => {
      log.end();
      reject(new TaplineError('MAVEN_MISSING', STAGE, `cannot run '${mvnBin}': ${e.message} (apt-get install maven)`));
    });
    child.on('close', (code) => {
      log.end();
      if (code === 0) resolve();
      else reject(new TaplineError('KAFKA_START_FAILED', STAGE,
        `Maven could not resolve Apache Kafka ${KAFKA_VERSION} (exit code ${code}; full output in ${logFile}):\n` +
        tail.join('\n'), { retriable: true }));
    });
  });
}

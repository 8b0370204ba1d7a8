/**
 * There is no Docker engine here, so docker-compose.yml is checked as a document: the compose
 * tool's own validation (`docker-compose config`), and its wiring against the code — every
 * tapline command, connector and stage it names exists, addresses point at services that
 * listen there, versions match what tapline pins.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { buildProgram } from '../cli/main';
import { connectorRegistry } from '../connectors/registry';
import { STAGES } from '../pipelines/registry';
import { KAFKA_VERSION } from '../lib/services/kafka-maven';

const ROOT = path.resolve(__dirname, '..');

interface Service {
  image?: string; build?: string; command?: string[]; environment?: Record<string, string>; ports?: string[];
  depends_on?: Record<string, { condition: string }>; healthcheck?: unknown; network_mode?: string; volumes?: string[];
}

describe('docker-compose.yml', () => {
  const text = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
  // Resolve ${VAR:-default} the way compose does with an empty environment.
  const doc = YAML.parse(text.replace(/\$\{(\w+):-([^}]*)\}/g, '$2'), { merge: true }) as { services: Record<string, Service> };
  const services = doc.services;

  it('passes the compose tool\'s own validation', () => {
    const out = execFileSync('docker-compose', ['-f', path.join(ROOT, 'docker-compose.yml'), 'config', '--services'], { encoding: 'utf8' });
    assert.deepEqual(out.trim().split('\n').sort(), Object.keys(services).sort());
  });

  it('runs Kafka in KRaft mode at the version tapline pins, and a TimescaleDB server', () => {
    assert.equal(services.kafka.image, `apache/kafka:${KAFKA_VERSION}`);
    assert.match(services.kafka.environment!.KAFKA_PROCESS_ROLES, /broker,controller/);
    assert.match(services.kafka.environment!.KAFKA_ADVERTISED_LISTENERS, /PLAINTEXT:\/\/kafka:9092/);
    assert.match(services.timescaledb.image!, /^timescale\/timescaledb:2\.\d+\.\d+-pg1[5-7]$/);
    for (const s of ['kafka', 'timescaledb']) assert.ok(services[s].healthcheck, `${s} has a healthcheck`);
  });

  it('every tapline service runs a command, connector and stage that exist', () => {
    const commands = new Set(buildProgram().commands.map((c) => c.name()));
    const tapline = Object.entries(services).filter(([, s]) => s.build === '.');
    assert.ok(tapline.length >= 4);
    for (const [name, s] of tapline) {
      const [cmd, arg] = s.command!;
      assert.ok(commands.has(cmd), `${name}: tapline ${cmd}`);
      if (cmd === 'capture') assert.ok(connectorRegistry().has(arg), `${name}: connector ${arg}`);
      if (cmd === 'stage') assert.ok(arg in STAGES, `${name}: stage ${arg}`);
    }
  });

  it('points tapline at the compose services with matching credentials', () => {
    const pg = services.timescaledb.environment!;
    for (const [name, s] of Object.entries(services).filter(([, x]) => x.build === '.')) {
      const env = s.environment!;
      const host = s.network_mode === 'host' ? '127.0.0.1' : 'kafka';
      assert.equal(env.TAPLINE_KAFKA_BROKERS, `${host}:9092`, name);
      const url = new URL(env.TAPLINE_PG_URL);
      assert.equal(url.hostname, s.network_mode === 'host' ? '127.0.0.1' : 'timescaledb', name);
      assert.equal(url.pathname, `/${pg.POSTGRES_DB}`, name);
      assert.equal(decodeURIComponent(url.password), pg.POSTGRES_PASSWORD, name);
      for (const dep of Object.keys(s.depends_on ?? {})) assert.ok(services[dep]?.healthcheck, `${name} waits for ${dep}'s healthcheck`);
    }
  });

  it('publishes ports on loopback only', () => {
    for (const [name, s] of Object.entries(services)) for (const p of s.ports ?? []) assert.match(p, /^127\.0\.0\.1:/, `${name} ${p}`);
  });

  it('builds tapline from a Dockerfile whose entry point is the CLI', () => {
    const df = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    assert.match(df, /^FROM node:20/m);
    assert.match(df, /npm ci/);
    assert.match(df, /ENTRYPOINT \["node", "bin\/tapline\.js"\]/);
  });

  it('runs Grafana with the TimescaleDB data source and the dashboards provisioned from deploy/grafana', () => {
    const g = services.grafana;
    assert.match(g.image!, /^grafana\/grafana:\d+\.\d+\.\d+$/, 'a pinned Grafana version');
    assert.ok(g.depends_on?.timescaledb, 'waits for the database');
    const mounts = new Map((g.volumes ?? []).filter((v) => v.startsWith('./')).map((v) => { const [src, dst] = v.split(':'); return [dst, src]; }));
    const provisioning = mounts.get('/etc/grafana/provisioning')!;
    assert.ok(provisioning && fs.existsSync(path.join(ROOT, provisioning)), 'provisioning mounted from the repository');
    const ds = YAML.parse(fs.readFileSync(path.join(ROOT, provisioning, 'datasources', 'timescaledb.yaml'), 'utf8')).datasources[0];
    const pg = services.timescaledb.environment!;
    assert.equal(ds.type, 'grafana-postgresql-datasource');
    assert.equal(ds.url, 'timescaledb:5432');
    assert.equal(ds.jsonData.database, pg.POSTGRES_DB);
    assert.equal(ds.jsonData.timescaledb, true);
    assert.equal(ds.secureJsonData.password, '$POSTGRES_PASSWORD');
    assert.equal(g.environment!.POSTGRES_PASSWORD, pg.POSTGRES_PASSWORD, 'the data source gets the database password');
    const provider = YAML.parse(fs.readFileSync(path.join(ROOT, provisioning, 'dashboards', 'tapline.yaml'), 'utf8')).providers[0];
    const dashboards = mounts.get(provider.options.path)!;
    assert.ok(dashboards, `the provider's path ${provider.options.path} is mounted`);
    const files = fs.readdirSync(path.join(ROOT, dashboards)).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 6, 'one dashboard per view');
    const uids = new Set<string>();
    for (const f of files) {
      const d = JSON.parse(fs.readFileSync(path.join(ROOT, dashboards, f), 'utf8'));
      uids.add(d.uid);
      for (const p of d.panels) for (const t of p.targets) assert.equal(t.datasource.uid, ds.uid, `${f}: ${p.title}`);
    }
    assert.equal(uids.size, files.length);
  });
});

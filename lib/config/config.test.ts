import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, parseConfig } from '.';
import { TaplineError } from '../errors';
import { createStage, validateStageSections } from '../../pipelines/registry';
import { TopologyTestDriver } from '../../pipelines/runtime/test-driver';
import type { StageDefinition } from '../../pipelines/runtime/types';
import type { PacketSummary } from '../../schemas/types';
import { dnsMsg, pkt } from '../../pipelines/stages/parse/fixtures';

function tmpYaml(text: string): string {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-cfg-')), 'tapline.yaml');
  fs.writeFileSync(f, text);
  return f;
}

describe('configuration', () => {
  it('an empty configuration means everything embedded with defaults', () => {
    const c = parseConfig({});
    assert.deepEqual(c.kafka.brokers, []);
    assert.equal(c.timescale.url, null);
    assert.equal(c.topics.packets, 'tapline.packets.v1');
    assert.deepEqual(c.stages, {});
  });

  it('reads YAML and lets the environment override it', () => {
    const f = tmpYaml('kafka:\n  brokers: ["k1:9092"]\n  partitions: 8\nstages:\n  aggregate:\n    windowMs: 60000\n');
    const c = loadConfig(f, { TAPLINE_PG_URL: 'postgres://u@db:5432/tsdb', TAPLINE__kafka__partitions: '12' });
    assert.equal(c.stages.aggregate.windowMs, 60000);
    assert.deepEqual(c.kafka.brokers, ['k1:9092']);
    assert.equal(c.kafka.partitions, 12);
    assert.equal(c.timescale.url, 'postgres://u@db:5432/tsdb');
    assert.equal(c.stages.aggregate.windowMs, 60000);
    const c2 = loadConfig(f, { TAPLINE_KAFKA_BROKERS: 'a:1, b:2' });
    assert.deepEqual(c2.kafka.brokers, ['a:1', 'b:2']);
  });

  it('names the wrong key or value in a clear CONFIG_INVALID error', () => {
    const bad = (yaml: string, re: RegExp) => assert.throws(() => loadConfig(tmpYaml(yaml), {}),
      (e: unknown) => e instanceof TaplineError && e.code === 'CONFIG_INVALID' && re.test(e.message));
    bad('kafka:\n  brokerz: []\n', /Unrecognized key.*brokerz/);
    bad('kafka:\n  partitions: 0\n', /kafka\.partitions/);
    bad('timescale:\n  url: mysql://x\n', /timescale\.url/);
    bad('kafka: [1, 2\n', /not valid YAML/);
    bad('- just\n- a list\n', /mapping/);
    assert.throws(() => loadConfig('/nonexistent/tapline.yaml', {}), /cannot read/);
  });

  it('the alerts section: file, then environment, then command-line overrides; wrong keys named', () => {
    const f = tmpYaml('alerts:\n  topic: from-file\n  retry:\n    maxAttempts: 3\n  webhook:\n    url: https://file.example/x\n');
    const c = loadConfig(f, { TAPLINE__alerts__retry__maxAttempts: '7' }, { 'alerts.webhook.url': 'https://cli.example/y', 'alerts.syslog.port': '5514' });
    assert.equal(c.alerts.topic, 'from-file');
    assert.equal(c.alerts.retry.maxAttempts, 7);
    assert.equal(c.alerts.webhook.url, 'https://cli.example/y');
    assert.equal(c.alerts.syslog.port, 5514, 'text from --set is coerced like before');
    assert.equal(parseConfig({}).alerts.failedTopic, 'tapline.alerts.deadletter.v1');
    const bad = (yaml: string, re: RegExp) => assert.throws(() => loadConfig(tmpYaml(yaml), {}),
      (e: unknown) => e instanceof TaplineError && e.code === 'CONFIG_INVALID' && re.test(e.message));
    bad('alerts:\n  webhook:\n    urll: x\n', /alerts\.webhook.*Unrecognized key.*urll/);
    bad('alerts:\n  alertmanager:\n    resendIntervalMs: 600000\n', /alerts\.alertmanager\.endsAtGraceMs: .*must exceed/);
  });
});

describe('tapline.example.yaml', () => {
  it('is valid and documents exactly the defaults', () => {
    const example = loadConfig(path.join(__dirname, '..', '..', 'tapline.example.yaml'), {});
    const defaults = parseConfig({});
    defaults.stateDir = example.stateDir; // resolved to an absolute path on load
    // Stage sections are validated (and defaulted) by each stage itself.
    validateStageSections(example);
    for (const [name, section] of Object.entries(example.stages)) {
      const def = createStage(name, { ...defaults, stages: {} }) as unknown as { name: string };
      assert.equal(def.name, name);
      assert.ok(section);
    }
    assert.deepEqual({ ...example, stages: {} }, defaults);
  });

  it('rejects a stage section with a wrong key, naming it', () => {
    const c = parseConfig({ stages: { aggregate: { windowSize: 5 } } });
    assert.throws(() => validateStageSections(c), (e: unknown) => e instanceof TaplineError && /stages\.aggregate.*windowSize/.test(e.message));
    assert.throws(() => validateStageSections(parseConfig({ stages: { parse: { maxPending: 3 } } })), /stages\.parse.*maxPending/);
    assert.throws(() => validateStageSections(parseConfig({ stages: { nosuch: {} } })), /unknown stage type "nosuch"/);
  });

  it('hands a stage its section: parse with maxPendingPerFlow 2 drops the oldest of three pending DNS queries', () => {
    const def = createStage('parse', parseConfig({ stages: { parse: { maxPendingPerFlow: 2 } } })) as unknown as StageDefinition<PacketSummary>;
    const d = new TopologyTestDriver(def);
    for (let i = 0; i < 3; i++) d.pipeInput('k', pkt(100 + i / 1000, '10.0.0.2', 40000, '10.0.0.1', 53, 17, dnsMsg(i, 'q.example')));
    assert.equal(d.metrics.droppedByReason.get('dns-pending-overflow'), 1);
  });
});

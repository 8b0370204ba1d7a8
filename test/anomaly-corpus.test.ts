/**
 * Issue #6 without root: the detectors scored against ground truth that does not come from
 * them, on real services (Kafka broker; the sink is not needed to score alerts).
 *
 * 1. demo/lab, the recorded lab scenario (scripts/lab/scenario.sh): the whole pipeline replayed
 *    (pipelines/replay.ts), the alerts matched to the injected anomalies (cli/demo/evaluate.ts),
 *    precision and recall per detector printed and held to 0.9 (test/support/anomaly-eval.ts),
 *    and no new_pair alert for the VM migrated mid-traffic.
 * 2. The corpus's normal-traffic captures (../shared/pcaps, MANIFEST.tsv: everything but the
 *    deliberately broken files and the fragment-garbage flood), replayed in one run, one
 *    observation point each: every alert is a false one; the anomaly detectors' rate per hour of
 *    traffic is printed and held to <= 1/h (threshold alerts are printed alongside).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { testConfig, testServices } from './support/services';
import { ensurePipelineTopics } from '../cli/services';
import { LAB_DATASET, loadDataset, type Dataset } from '../cli/demo/dataset';
import { replayAndEvaluate } from '../cli/demo/evaluate-run';
import { OWNER, occurrences } from '../cli/demo/evaluate';
import { readCapture } from '../lib/pcap';
import { assertNothingLate, assertTargets } from './support/anomaly-eval';

const CORPUS = path.resolve(__dirname, '..', '..', 'shared', 'pcaps');
/** Not normal traffic: broken on purpose, or an attack pattern. */
const NOT_NORMAL_CATEGORIES = new Set(['malformed', 'truncated_file']);
const NOT_NORMAL_FILES: Record<string, string> = { 'ndpi_ip_fragmented_garbage.pcap': 'fragment flood / garbage' };

export function normalCorpusFiles(): string[] {
  const rows = fs.readFileSync(path.join(CORPUS, 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
  return rows.filter(([file, , category]) => !NOT_NORMAL_CATEGORIES.has(category) && !(file in NOT_NORMAL_FILES)).map(([file]) => file).sort();
}

/** Time with traffic: 10-s windows that hold at least one packet (a file's idle gaps of years are not traffic). */
async function activeSeconds(file: string): Promise<{ active: number; span: number }> {
  const windows = new Set<bigint>();
  let first: bigint | null = null, last = 0n;
  for await (const r of readCapture(file)) {
    windows.add(r.ts_ns / 10_000_000_000n);
    first ??= r.ts_ns;
    last = r.ts_ns;
  }
  return { active: windows.size * 10, span: first === null ? 0 : Number(last - first) / 1e9 };
}

describe('anomaly detection against ground truth (recorded lab scenario, corpus normal traffic) @integration', function () {
  this.timeout(1_200_000);

  it('demo/lab: precision and recall per detector >= 0.9; the migrated VM raises no new_pair alert', async () => {
    const cfg = testConfig();
    const s = await testServices();
    await ensurePipelineTopics(cfg, s.kafka);
    const ds = loadDataset(LAB_DATASET);
    assert.ok(ds.groundTruth && ds.groundTruth.events.length >= 8, 'the recording has its ground truth');
    const t0 = Date.now();
    const run = await replayAndEvaluate(cfg, s.kafka, null, ds, { groupPrefix: 'anomaly-recording' });
    process.stdout.write(`\n    demo/lab replayed in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${run.replay.captures.map((c) => `${c.observationPoint} ${c.packets} packets`).join(', ')}\n`);
    process.stdout.write(`${run.report.replace(/^/gm, '    ')}\n`);
    assert.equal(run.replay.captures.reduce((n, c) => n + c.malformed, 0), 0);
    assertNothingLate(run.replay);
    assertTargets(run.evaluation!, run.report);
  });

  it('the corpus\'s normal traffic: false alerts per hour of traffic <= 1', async () => {
    const cfg = testConfig({ 'stages.detect-traffic': { externalPairs: true } });
    const s = await testServices();
    await ensurePipelineTopics(cfg, s.kafka);
    const files = normalCorpusFiles();
    assert.ok(files.length >= 40, `${files.length} normal captures`);
    let active = 0, span = 0;
    for (const f of files) {
      const t = await activeSeconds(path.join(CORPUS, f));
      active += t.active;
      span += t.span;
    }
    const ds: Dataset = { dir: CORPUS, name: 'corpus', vms: {}, groundTruth: null,
      replay: { captures: files.map((f) => ({ file: path.join(CORPUS, f), observationPoint: `corpus:${f}` })) } };
    const run = await replayAndEvaluate(cfg, s.kafka, null, ds, { groupPrefix: 'anomaly-corpus' });
    const all = occurrences(run.alerts);
    // Issue #6's detectors: the ones that own the injected anomaly types. Threshold alerts (RTT,
    // jitter, loss against configured limits) measure real values above limits set for VM-to-VM
    // paths; on the corpus's internet paths they fire by design: reported, not held to the rate.
    const anomalyDetectors = new Set(Object.values(OWNER));
    const alerts = all.filter((a) => anomalyDetectors.has(a.detector));
    const others = all.filter((a) => !anomalyDetectors.has(a.detector));
    const hours = active / 3600;
    const rate = alerts.length / hours;
    process.stdout.write(`\n    corpus: ${files.length} normal captures, ${run.replay.captures.reduce((n, c) => n + c.packets, 0)} packets, ` +
      `${(active / 60).toFixed(1)} min of traffic (10-s windows with packets; first-to-last spans add up to ${(span / 3600).toFixed(0)} h)\n` +
      `    false alerts of the anomaly detectors (${[...anomalyDetectors].join(', ')}): ${alerts.length} -> ${rate.toFixed(2)} per hour of traffic (target <= 1)\n` +
      alerts.map((a) => `      ${a.detector} ${a.type}: ${a.summary}\n`).join('') +
      `    threshold alerts (other detectors): ${others.length} -> ${(others.length / hours).toFixed(2)} per hour\n` +
      others.map((a) => `      ${a.detector} ${a.type}: ${a.summary}\n`).join('') + run.report.replace(/^/gm, '    '));
    assertNothingLate(run.replay);
    assert.ok(rate <= 1, `${alerts.length} false anomaly alerts in ${(active / 60).toFixed(1)} min of normal traffic`);
  });
});

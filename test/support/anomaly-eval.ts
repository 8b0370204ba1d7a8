/**
 * Shared assertions of the anomaly evaluations (test/anomaly-corpus.test.ts on the recording,
 * test/anomaly-lab.test.ts live): the issue #6 target, with the detectors' known gaps listed
 * explicitly. A detector in KNOWN_GAPS is asserted to be still below target (so the entry must
 * be removed, and the full assertion applies, the day it reaches it); every other detector must
 * reach 0.9 precision and recall.
 */
import assert from 'node:assert/strict';
import type { Evaluation } from '../../cli/demo/evaluate';
import type { PipelineReplayResult } from '../../pipelines/replay';

/** A replay evaluates every record: no stage may drop one as late (the replay's lateness covers its span). */
export function assertNothingLate(replay: PipelineReplayResult): void {
  const late = replay.stages.filter((s) => (s.dropped.late ?? 0) > 0).map((s) => `${s.name}: ${s.dropped.late}`);
  assert.deepEqual(late, [], 'records dropped as late in a replay');
}

export const TARGET = 0.9;

/** detector -> what it misses or raises wrongly on the lab scenario today (see the test's log). */
export const KNOWN_GAPS: Record<string, string> = {};

export function assertTargets(ev: Evaluation, report: string, opts: { recall?: boolean } = {}): void {
  const recall = opts.recall ?? true;
  assert.ok(ev.events.length >= 7, `every injected anomaly is evaluated:\n${report}`);
  assert.deepEqual(ev.migrationNewPairs.map((a) => a.summary), [], `the migrated VM raises no new_pair alert:\n${report}`);
  for (const d of ev.detectors) {
    if (d.alerts === 0 && d.events === 0) continue;
    if (!recall) {
      // live: recall depends on the rates the (shared, loaded) machine let the injections reach
      assert.ok((d.precision ?? 1) >= TARGET, `${d.detector}: precision ${d.precision} (target ${TARGET})\n${report}`);
      continue;
    }
    const ok = (d.precision ?? 1) >= TARGET && (d.recall ?? 1) >= TARGET;
    const gap = KNOWN_GAPS[d.detector];
    if (gap) {
      assert.ok(!ok, `${d.detector} now reaches the target (precision ${d.precision}, recall ${d.recall}): remove it from KNOWN_GAPS (${gap})`);
      process.stdout.write(`    KNOWN GAP ${d.detector}: ${gap}\n`);
    } else {
      assert.ok(ok, `${d.detector}: precision ${d.precision}, recall ${d.recall} (target ${TARGET} each)\n${report}`);
    }
  }
}

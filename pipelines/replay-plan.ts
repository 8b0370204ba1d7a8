/**
 * Which stages a replay runs, and in which order: every stage of the registry (so a new stage
 * folder — a detector — is picked up without touching the replay), ordered so that a stage runs
 * after every stage writing its input topic or a global table it reads. A stage whose input
 * nothing in this replay writes is skipped with the reason.
 */
import type { TaplineConfig } from '../lib/config';
import type { StageDefinition } from './runtime/types';
import { createStage, stageRegistry } from './registry';
import { isTaplineError } from '../lib/errors';

export interface PlannedStage { name: string; def: StageDefinition<never> }
export interface StagePlan { stages: PlannedStage[]; skipped: { name: string; reason: string }[] }

export interface PlanOptions {
  /** topics the replay fills itself (packets, inventory) */
  sources: Set<string>;
  /** only these stages (default: all registered) */
  only?: string[];
  /** stage name -> why it is left out */
  exclude?: Record<string, string>;
  /**
   * Event-time disorder the replay itself causes, in ms. A bounded replay runs one stage after
   * the other over whole topics, so a stage that reads another stage's output gets each input
   * partition's records in one fetched run after the other: a re-keyed partition then holds
   * records minutes apart in time in arrival order (live, the stages run side by side and the
   * disorder is seconds). Stages with an `allowedLatenessMs` that read a stage's output (not the
   * time-merged packets) get at least this lateness, so no record is dropped as late and their
   * windows are evaluated in event-time order once their input is read; their window state then
   * grows with the replayed span.
   */
  reorderLatenessMs?: number;
}

/** `name`'s definition, its lateness raised to `latenessMs` when its config has one. */
function withLateness(name: string, cfg: TaplineConfig, latenessMs: number): StageDefinition<never> | null {
  const own = cfg.stages[name] ?? {};
  if (typeof own.allowedLatenessMs === 'number' && own.allowedLatenessMs >= latenessMs) return null;
  try {
    return createStage(name, { ...cfg, stages: { ...cfg.stages, [name]: { ...own, allowedLatenessMs: latenessMs } } });
  } catch (e) {
    // Its config has no lateness (its strict schema refuses the key): nothing to raise. Any
    // other refusal is a real error and must not be hidden.
    if (isTaplineError(e) && e.code === 'CONFIG_INVALID' && /Unrecognized key.*'allowedLatenessMs'/.test(e.message)) return null;
    throw e;
  }
}

export function planStages(cfg: TaplineConfig, opts: PlanOptions): StagePlan {
  const skipped: StagePlan['skipped'] = [];
  const names = Object.keys(stageRegistry()).sort();
  if (opts.only) for (const n of opts.only) if (!names.includes(n)) throw new Error(`unknown stage "${n}" (known: ${names.join(', ')})`);
  const wanted: PlannedStage[] = [];
  for (const name of names) {
    if (opts.only && !opts.only.includes(name)) continue;
    const why = opts.exclude?.[name];
    if (why) { skipped.push({ name, reason: why }); continue; }
    const def = createStage(name, cfg);
    const late = opts.reorderLatenessMs && !opts.sources.has(def.input.topic) ? withLateness(name, cfg, opts.reorderLatenessMs) : null;
    wanted.push({ name, def: late ?? def });
  }
  const readsOf = (s: PlannedStage) => [s.def.input.topic, ...(s.def.globals ?? []).map((g) => g.topic)];
  const producers = new Map<string, Set<string>>();
  for (const s of wanted) for (const t of Object.keys(s.def.outputs)) {
    if (!producers.has(t)) producers.set(t, new Set());
    producers.get(t)!.add(s.name);
  }
  // A stage whose main input nobody fills has nothing to do (e.g. a detector of capture health
  // records when replaying files); drop it, and then whatever only it would have fed.
  let pending = [...wanted];
  for (let changed = true; changed;) {
    changed = false;
    const present = new Set(pending.map((s) => s.name));
    for (const s of pending) {
      const t = s.def.input.topic;
      const fed = opts.sources.has(t) || [...(producers.get(t) ?? [])].some((p) => p !== s.name && present.has(p));
      if (!fed) {
        skipped.push({ name: s.name, reason: `nothing in this replay writes its input ${t}` });
        pending = pending.filter((x) => x !== s);
        changed = true;
        break;
      }
    }
  }
  const present = new Set(pending.map((s) => s.name));
  const done = new Set<string>();
  const ordered: PlannedStage[] = [];
  while (pending.length) {
    const ready = pending.find((s) => readsOf(s).every((t) => [...(producers.get(t) ?? [])]
      .every((p) => p === s.name || done.has(p) || !present.has(p))));
    if (!ready) {
      for (const s of pending) skipped.push({ name: s.name, reason: 'its inputs depend on each other in a cycle' });
      break;
    }
    ordered.push(ready);
    done.add(ready.name);
    pending = pending.filter((s) => s !== ready);
  }
  return { stages: ordered, skipped };
}

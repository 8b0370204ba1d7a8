/**
 * Per-tenant / per-subject overrides of a detector's settings. A config has `defaults` (every
 * setting) and `overrides`: a list of entries that match by `tenant`, by `subject` (a VM id, an
 * address, a pair "a->b", a host pair "h1->h2", ... as each detector documents), or both, and
 * set some of the settings. More specific entries win: tenant-only entries apply first, then
 * subject-only, then tenant+subject; within one level, later entries win.
 */
import { z } from 'zod';

export interface OverrideMatch { tenant?: string; subject?: string }

/** The zod schema of an overrides list for a settings object schema. */
export function overridesSchema<T extends z.ZodRawShape>(settings: z.ZodObject<T>) {
  return z.array(settings.partial().extend({
    tenant: z.string().min(1).optional().describe('applies to this tenant (with `subject`: to that subject within it)'),
    subject: z.string().min(1).optional().describe('applies to this subject (VM id, address, pair "a->b", host pair; see the detector)'),
  }).strict().refine((o) => o.tenant !== undefined || o.subject !== undefined, 'an override needs `tenant` or `subject`'))
    .default([]);
}

function level(o: OverrideMatch): number { return o.subject === undefined ? 0 : o.tenant === undefined ? 1 : 2; }

/**
 * The settings for a subject: the defaults with every matching override applied. `subjects`
 * lists the names the subject is known by (e.g. its VM id and its address).
 */
export function settingsFor<S extends object>(defaults: S, overrides: readonly (OverrideMatch & Partial<S>)[],
  tenant: string | null | undefined, subjects: readonly (string | null | undefined)[]): S {
  if (overrides.length === 0) return defaults;
  const names = new Set(subjects.filter((s): s is string => !!s));
  const matching = overrides
    .map((o, i) => ({ o, i }))
    .filter(({ o }) => (o.tenant === undefined || o.tenant === tenant) && (o.subject === undefined || names.has(o.subject)))
    .sort((x, y) => level(x.o) - level(y.o) || x.i - y.i);
  if (matching.length === 0) return defaults;
  const out = { ...defaults } as Record<string, unknown>;
  for (const { o } of matching) {
    for (const [k, v] of Object.entries(o)) if (k !== 'tenant' && k !== 'subject' && v !== undefined) out[k] = v;
  }
  return out as S;
}

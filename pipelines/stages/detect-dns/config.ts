import { z } from 'zod';
import { overridesSchema } from '../../alerting/overrides';
import { allowedLatenessMs, clearRatio, criticalFactor, lifecycle, outputTopic, windowMs } from '../../alerting/common-config';
import { DNS_REPARTITION_TOPIC } from '../detect-rekey-dns';

export const DnsSettingsSchema = z.object({
  nxdomainMin: z.number().int().min(1).default(20).describe('NXDOMAIN burst: NXDOMAIN answers to one client in a window ...'),
  nxdomainRatio: z.number().min(0).max(1).default(0.3).describe('... that are at least this share of its answers'),
  maxNameLength: z.number().int().min(10).max(255).default(100).describe('a query name this long (characters) is suspicious'),
  minLabelLength: z.number().int().min(4).max(63).default(24).describe('a label this long ...'),
  minEntropyBits: z.number().min(0).max(8).default(3.8).describe('... with at least this Shannon entropy (bits/char) is suspicious'),
  tunnelMinQueries: z.number().int().min(1).default(10).describe('tunnel suspect: suspicious query names from one client in a window'),
  criticalFactor: criticalFactor(),
  clearRatio: clearRatio(),
}).strict();
export type DnsSettings = z.infer<typeof DnsSettingsSchema>;

export const DetectDnsConfigSchema = z.object({
  inputTopic: z.string().default(DNS_REPARTITION_TOPIC).describe('DNS events keyed by client address (stage detect-rekey-dns)'),
  inventoryTopic: z.string().default('tapline.inventory.v1').describe('VM inventory: the client address -> VM, tenant, host'),
  outputTopic: outputTopic(),
  windowMs: windowMs(60_000),
  allowedLatenessMs: allowedLatenessMs(10_000),
  maxTracked: z.number().int().min(16).default(4096).describe('DNS messages remembered per client and window to count each once when two monitors saw it'),
  lifecycle: lifecycle(),
  defaults: DnsSettingsSchema.default({}),
  overrides: overridesSchema(DnsSettingsSchema).describe('per tenant (inventory) and/or subject: the client\'s VM id, name or address'),
}).strict();
export type DetectDnsConfig = z.infer<typeof DetectDnsConfigSchema>;

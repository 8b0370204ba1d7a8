import { z } from 'zod';

export const VirshConfigSchema = z.object({
  command: z.string().default('virsh'),
  uri: z.string().optional().describe('libvirt connection URI (virsh -c), e.g. qemu:///system'),
  host: z.string().optional().describe('physical host name to record; default: this machine\'s hostname'),
  tenant: z.string().optional(),
  project: z.string().optional(),
  subnet: z.string().optional(),
  nicCapacityBps: z.number().int().min(0).optional(),
  intervalMs: z.number().int().min(1000).default(30_000).describe('how often virsh is asked again'),
  removeAfterMs: z.number().int().min(0).default(90_000)
    .describe('a domain gone from this host is tombstoned only after this long, and only if the topic still places it here (it may have migrated)'),
}).strict();

export const InventoryConfigSchema = z.object({
  source: z.enum(['file', 'virsh']).default('file'),
  path: z.string().min(1).optional().describe('YAML or JSON inventory file (source: file)'),
  topic: z.string().default('tapline.inventory.v1'),
  watch: z.boolean().default(true).describe('keep running and republish on change; false = publish once and finish'),
  pollIntervalMs: z.number().int().min(50).default(2_000).describe('polling fallback for file systems where fs.watch says nothing'),
  debounceMs: z.number().int().min(0).default(100),
  virsh: VirshConfigSchema.optional(),
}).strict().superRefine((c, ctx) => {
  if (c.source === 'file' && !c.path) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['path'], message: 'required with source: file' });
});

export type InventoryConfig = z.infer<typeof InventoryConfigSchema>;
export type VirshConfig = z.infer<typeof VirshConfigSchema>;

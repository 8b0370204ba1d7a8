import { z } from 'zod';

export const VmEventsConfigSchema = z.object({
  inputTopic: z.string().default('tapline.vm-events.candidates.v1'),
  outputTopic: z.string().default('tapline.vm-events.v1'),
}).strict();

export type VmEventsConfig = z.infer<typeof VmEventsConfigSchema>;

import { z } from 'zod';

export const RollupConfigSchema = z.object({
  inputTopic: z.string().default('tapline.flows.identified.v1'),
  outputTopic: z.string().default('tapline.rollups.v1'),
  /**
   * A window's rollups are emitted once stream time (window starts of the input) is this far
   * past the window's end. A flow arriving after that is not lost: it makes an additional
   * partial record for its window (consumers sum the records of a window, dimension and key).
   */
  allowedLatenessMs: z.number().int().min(0).default(10_000),
}).strict();

export type RollupConfig = z.infer<typeof RollupConfigSchema>;

/**
 * tapline.rollups.v1 (Rollup) -> rollups. The rollup stage emits one record per (window,
 * dimension, key) per input partition (its stores are per task), so source_partition is part of
 * the key: with several partitions the rows of a (window, dimension, key) are summed by readers.
 */
import { simpleSpec } from './simple';

export const rollups = simpleSpec('rollups', 'rollup.v1', 'tapline.rollups.v1', ['dimension', 'key', 'source_partition', 'window_start']);

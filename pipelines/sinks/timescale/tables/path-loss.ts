/**
 * tapline.path-loss.v1 (PathLoss) -> path_loss. One record per flow, direction (src) and pair of
 * observation points per window.
 */
import { simpleSpec } from './simple';

export const pathLoss = simpleSpec('path_loss', 'path-loss.v1', 'tapline.path-loss.v1',
  ['flow_key', 'src_ip', 'src_port', 'upstream_point', 'downstream_point', 'window_start']);

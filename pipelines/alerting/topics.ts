/** The detectors' internal repartition topics (created with the pipeline's topics by cli/services.ts). */
import { FLOWS_REPARTITION_TOPIC } from '../stages/detect-rekey-flows';
import { METRICS_REPARTITION_TOPIC } from '../stages/detect-rekey-metrics';
import { DNS_REPARTITION_TOPIC } from '../stages/detect-rekey-dns';

export const DETECTOR_REPARTITION_TOPICS = [FLOWS_REPARTITION_TOPIC, METRICS_REPARTITION_TOPIC, DNS_REPARTITION_TOPIC];

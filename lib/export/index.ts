/** Arrow export of tapline's tables and views (issue #5): see docs/export.md. */
export { planExport, quoteIdent, type ExportPlan, type ExportRequest } from './plan';
export { writeArrow, ARROW_STREAM_MIME, ARROW_FILE_MIME, type ArrowFormat, type WriteOptions, type WriteResult } from './write';
export { recordBatches, DEFAULT_BATCH_ROWS } from './pages';
export { listExportable, describeRelation } from './catalog';
export { parseTimeToMicros, microsToIso } from './time';

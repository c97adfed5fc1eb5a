/**
 * The stored metrics: one list per kind maps the API/event field to its column, so inserts, rollups, series and
 * "latest" queries are all generated from the same place.
 */
export interface FieldDef {
  /** Name in events and API answers. */
  api: string;
  col: string;
  /** Postgres array type used for batch inserts. */
  pg: 'float8' | 'int8' | 'int4';
}

export const HOST_FIELDS: FieldDef[] = [
  { api: 'cpuPercent', col: 'cpu_percent', pg: 'float8' },
  { api: 'memoryUsedPercent', col: 'memory_used_percent', pg: 'float8' },
  { api: 'memoryTotalMiB', col: 'memory_total_mib', pg: 'float8' },
  { api: 'memoryAvailableMiB', col: 'memory_available_mib', pg: 'float8' },
  { api: 'load1', col: 'load1', pg: 'float8' },
  { api: 'load5', col: 'load5', pg: 'float8' },
  { api: 'load15', col: 'load15', pg: 'float8' },
  { api: 'diskTotalBytes', col: 'disk_total_bytes', pg: 'int8' },
  { api: 'diskUsedBytes', col: 'disk_used_bytes', pg: 'int8' },
  { api: 'netRxBytesPerSec', col: 'net_rx_bps', pg: 'float8' },
  { api: 'netTxBytesPerSec', col: 'net_tx_bps', pg: 'float8' },
  { api: 'vmCount', col: 'vm_count', pg: 'int4' },
];

export const VM_FIELDS: FieldDef[] = [
  { api: 'cpuPercent', col: 'cpu_percent', pg: 'float8' },
  { api: 'vcpus', col: 'vcpus', pg: 'int4' },
  { api: 'memoryCurrentMiB', col: 'memory_current_mib', pg: 'float8' },
  { api: 'memoryMaxMiB', col: 'memory_max_mib', pg: 'float8' },
  { api: 'memoryRssMiB', col: 'memory_rss_mib', pg: 'float8' },
  { api: 'memoryUsableMiB', col: 'memory_usable_mib', pg: 'float8' },
  { api: 'diskReadBytesPerSec', col: 'disk_read_bps', pg: 'float8' },
  { api: 'diskWriteBytesPerSec', col: 'disk_write_bps', pg: 'float8' },
  { api: 'netRxBytesPerSec', col: 'net_rx_bps', pg: 'float8' },
  { api: 'netTxBytesPerSec', col: 'net_tx_bps', pg: 'float8' },
];

/** Column DDL of a raw table's metric columns. */
export function rawColumnsDdl(fields: FieldDef[]): string {
  return fields.map((f) => `${f.col} ${f.pg === 'float8' ? 'double precision' : f.pg === 'int8' ? 'bigint' : 'int'}`).join(',\n      ');
}

/** Rollup columns: the average of every field (double precision), plus the CPU maximum. */
export function rollupColumnsDdl(fields: FieldDef[]): string {
  return [...fields.map((f) => `${f.col} double precision`), 'cpu_percent_max double precision'].join(',\n      ');
}

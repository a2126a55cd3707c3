import type { PoolSnapshot } from '../pool/pool.js';
import { HISTOGRAM_BOUNDS_S } from '../stats/latency-window.js';

type Add = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string, suffix: string, labels: Record<string, string>, value: number) => void;

/** TCP pools' families: connections, bytes, connect errors and connect time; no HTTP status columns. */
export function addTcpMetrics(pools: readonly PoolSnapshot[], add: Add, formatBound: (value: number) => string): void {
  for (const pool of pools) {
    for (const server of pool.servers) {
      const tcp = server.tcp;
      if (!tcp) continue;
      const labels = { pool: pool.name, server: server.id };
      add('switchyard_tcp_connections_open', 'gauge', 'TCP connections open through the server now.', '', labels, server.active);
      add('switchyard_tcp_connections_total', 'counter', 'TCP connections proxied to the server (connect attempts).', '', labels, tcp.connections);
      add('switchyard_tcp_received_bytes_total', 'counter', 'Bytes from clients sent to the server.', '', labels, tcp.bytesIn);
      add('switchyard_tcp_sent_bytes_total', 'counter', 'Bytes from the server sent to clients.', '', labels, tcp.bytesOut);
      for (const [kind, count] of Object.entries(tcp.connectErrors)) {
        add('switchyard_tcp_connect_errors_total', 'counter', 'Failed connects to the server: refused (or reset) and timeout.', '', { ...labels, kind }, count);
      }
      for (const [cause, count] of Object.entries(tcp.closed)) {
        add('switchyard_tcp_closed_total', 'counter', 'Ended TCP connections by cause: client, server, idle (timeout), drain (cut at a drain deadline or shutdown), error.', '', { ...labels, cause }, count);
      }
      const help = 'Time to open a TCP connection to the server (TLS included).';
      const { counts, sumSeconds, count } = tcp.connectTime;
      HISTOGRAM_BOUNDS_S.forEach((bound, i) => add('switchyard_tcp_connect_duration_seconds', 'histogram', help, '_bucket', { ...labels, le: formatBound(bound) }, counts[i] ?? 0));
      add('switchyard_tcp_connect_duration_seconds', 'histogram', help, '_bucket', { ...labels, le: '+Inf' }, count);
      add('switchyard_tcp_connect_duration_seconds', 'histogram', help, '_sum', labels, sumSeconds);
      add('switchyard_tcp_connect_duration_seconds', 'histogram', help, '_count', labels, count);
    }
  }
}

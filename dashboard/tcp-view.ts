import type { ServerSnapshot } from '../middleware/pool/server.js';
import type { TcpStatsSnapshot } from '../middleware/tcp/tcp-stats.js';

/**
 * A TCP server's row uses the same cells as an HTTP one, with connection figures in them: open
 * connections, connections per second, connect errors, connect time, bytes both ways. The
 * page's headers say so for a TCP pool (views/dashboard.ejs), and the live stream needs no change.
 */
export function tcpCells(server: ServerSnapshot, tcp: TcpStatsSnapshot): { cells: Record<'rps' | 'errors' | 'p50' | 'p99' | 'sessions', string>; titles: Record<'errors' | 'sessions', string> } {
  const errors = tcp.connectErrors.refused + tcp.connectErrors.timeout;
  const closed = Object.entries(tcp.closed).map(([cause, count]) => `${cause} ${count}`).join(', ');
  return {
    cells: {
      rps: (Math.round(tcp.connectionsPerSecond * 10) / 10).toFixed(1),
      errors: String(errors),
      p50: ms(tcp.connectMs.p50),
      p99: ms(tcp.connectMs.p99),
      sessions: `${bytes(tcp.bytesIn)} / ${bytes(tcp.bytesOut)}`,
    },
    titles: {
      errors: `all time: ${tcp.connections} connections; refused ${tcp.connectErrors.refused}, timeout ${tcp.connectErrors.timeout}; closed: ${closed}`,
      sessions: `${tcp.bytesIn} bytes from clients, ${tcp.bytesOut} bytes to clients (${server.active} open)`,
    },
  };
}

/** Column headers of a TCP pool's table, for the cells above. */
function ms(value: number | null): string {
  return value === null ? '–' : `${value} ms`;
}

function bytes(value: number): string {
  if (value < 1024) return `${value} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let scaled = value / 1024;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${scaled.toFixed(1)} ${units[unit]}`;
}

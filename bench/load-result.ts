/** One load run's figures, whichever generator produced them; parsers for both. */

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
}

const TIME_UNITS_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parse `wrk --latency` output. Throws with the output when a figure is missing. */
export function parseWrk(output: string): LoadResult {
  const figure = (pattern: RegExp, what: string): RegExpMatchArray => {
    const match = output.match(pattern);
    if (!match) throw new Error(`wrk output has no ${what}:\n${output}`);
    return match;
  };
  const latency = (percent: string): number => {
    const [, value, unit] = figure(new RegExp(`^\\s*${percent}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm'), `${percent}% latency`);
    return Number(value) * TIME_UNITS_MS[unit!]!;
  };
  const socketErrors = output.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  return {
    requestsPerSec: Number(figure(/^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec')[1]),
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    requests: Number(figure(/^\s*(\d+) requests in /m, 'request count')[1]),
    errors: socketErrors ? socketErrors.slice(1, 5).reduce((sum, value) => sum + Number(value), 0) : 0,
    non2xx: Number(output.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0),
  };
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** Parse `autocannon --json` output (latencies are already in ms). */
export function parseAutocannon(output: string): LoadResult {
  const start = output.indexOf('{');
  if (start < 0) throw new Error(`autocannon printed no JSON:\n${output}`);
  const json = JSON.parse(output.slice(start)) as AutocannonJson;
  return {
    requestsPerSec: json.requests.average,
    p50Ms: json.latency.p50,
    p99Ms: json.latency.p99,
    requests: json.requests.total,
    errors: json.errors + json.timeouts,
    non2xx: json.non2xx,
  };
}

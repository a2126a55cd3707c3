/** What one `npm run bench` does: rows, rounds, load shape. Read from env vars and `--quick`. */

export const ROW_NAMES = [
  'direct',
  'bare-forwarder',
  'node-http-proxy',
  'express-http-proxy',
  'express-hpm',
  'switchyard-express',
  'switchyard-wrap',
  'switchyard-wrap-p2c',
  'switchyard-wrap-hash',
  'switchyard-wrap-all',
  'switchyard-wrap-hook',
] as const;
export type RowName = (typeof ROW_NAMES)[number];

/** A proxy row runs in its own child; `direct` has none. */
export type ProxyRowName = Exclude<RowName, 'direct'>;

export const ROW_LABELS: Record<RowName, string> = {
  direct: 'direct (one backend, ceiling)',
  'bare-forwarder': 'bare node:http forwarder',
  'node-http-proxy': 'node:http + http-proxy',
  'express-http-proxy': 'express + http-proxy',
  'express-hpm': 'express + http-proxy-middleware',
  'switchyard-express': 'switchyard express()',
  'switchyard-wrap': 'switchyard wrap()',
  'switchyard-wrap-p2c': 'switchyard wrap(), p2c',
  'switchyard-wrap-hash': 'switchyard wrap(), bounded-load hash',
  'switchyard-wrap-all': 'switchyard wrap(), all features',
  'switchyard-wrap-hook': 'switchyard wrap(), one header hook',
};

/**
 * Does the row visit every backend when sent one request at a time? Round robin does; p2c and a
 * key-bound hash may keep to one, and a health-checked pool admits servers as their first checks pass.
 */
export function rotatesOneByOne(row: RowName): boolean {
  return row !== 'switchyard-wrap-p2c' && row !== 'switchyard-wrap-hash' && row !== 'switchyard-wrap-all';
}

export interface BenchSettings {
  rounds: number;
  /** Measured seconds per row and round (wrk takes whole seconds). */
  durationS: number;
  warmupS: number;
  connections: number;
  rows: RowName[];
  /** `wrk` when installed, unless BENCH_LOADGEN=autocannon. */
  loadGenerator: 'wrk' | 'autocannon' | 'auto';
  quick: boolean;
}

export function readSettings(argv: readonly string[], env: NodeJS.ProcessEnv): BenchSettings {
  const quick = argv.includes('--quick');
  return {
    quick,
    rounds: positiveInteger(env, 'BENCH_ROUNDS', quick ? 1 : 3),
    durationS: positiveInteger(env, 'BENCH_DURATION', quick ? 2 : 5),
    warmupS: positiveInteger(env, 'BENCH_WARMUP', 1),
    connections: positiveInteger(env, 'BENCH_CONNECTIONS', 64),
    rows: rowList(env.BENCH_ROWS),
    loadGenerator: loadGenerator(env.BENCH_LOADGEN),
  };
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number ≥ 1, got "${raw}"`);
  return value;
}

/** BENCH_ROWS=direct,node-http-proxy runs a subset, in the canonical order. */
function rowList(raw: string | undefined): RowName[] {
  if (raw === undefined || raw.trim() === '') return [...ROW_NAMES];
  const wanted = raw.split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of wanted) {
    if (!(ROW_NAMES as readonly string[]).includes(name)) {
      throw new Error(`BENCH_ROWS: unknown row "${name}"; rows are ${ROW_NAMES.join(', ')}`);
    }
  }
  return ROW_NAMES.filter((name) => wanted.includes(name));
}

function loadGenerator(raw: string | undefined): BenchSettings['loadGenerator'] {
  if (raw === undefined || raw === '') return 'auto';
  if (raw === 'wrk' || raw === 'autocannon') return raw;
  throw new Error(`BENCH_LOADGEN must be wrk or autocannon, got "${raw}"`);
}

/**
 * `npm run bench:picks`: what one pick costs each built-in algorithm at 10 to 10,000 servers,
 * what a retry pick (one server excluded) adds, and what update() costs, off the request path.
 * Then consistent-hash's ring alone: build time and keys moved on removing one server.
 * Prints Markdown. Medians of several runs; about half a minute in all.
 */
import os from 'node:os';
import type { Algorithm, Candidate, PickContext } from '../middleware/algorithms/algorithm.js';
import { hash32 } from '../middleware/algorithms/hash.js';
import { ALGORITHMS } from '../middleware/algorithms/index.js';
import { buildRing } from '../middleware/algorithms/ring.js';
import { viewOf } from '../middleware/algorithms/view.js';

const SIZES = [10, 100, 1_000, 10_000];
const RUNS = 7;
const PICKS_PER_RUN = 200_000;
/** Requests held open at once: load-aware algorithms see moving `active` counts. */
const IN_FLIGHT = 64;
const KEYS = 4_096;
const REMAP_KEYS = 100_000;

class BenchServer implements Candidate {
  active = 0;
  constructor(readonly id: string, readonly weight: number) {}
  effectiveWeight(): number {
    return this.weight;
  }
}

interface Variant {
  label: string;
  create: () => Algorithm;
}

const VARIANTS: Variant[] = [
  { label: 'round-robin', create: () => ALGORITHMS['round-robin']() },
  { label: 'weighted-round-robin', create: () => ALGORITHMS['weighted-round-robin']() },
  { label: 'least-connections', create: () => ALGORITHMS['least-connections']() },
  { label: 'p2c', create: () => ALGORITHMS.p2c() },
  { label: 'consistent-hash', create: () => ALGORITHMS['consistent-hash']() },
  { label: 'ip-hash', create: () => ALGORITHMS['ip-hash']() },
];

/** Mutable so that one context per key can carry a reused exclusion set. */
interface BenchContext {
  clientAddress: string;
  now: number;
  exclude?: Set<Candidate>;
}

function members(count: number): BenchServer[] {
  // mixed weights 1..4, as a pool of mixed machine sizes
  return Array.from({ length: count }, (_, i) => new BenchServer(`server-${i}`, (i % 4) + 1));
}

function contexts(exclude?: Set<Candidate>): BenchContext[] {
  return Array.from({ length: KEYS }, (_, i) => ({ clientAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, now: 0, exclude }));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

function elapsedNs(started: bigint): number {
  return Number(process.hrtime.bigint() - started);
}

/** One run of picks, each held open for the next IN_FLIGHT picks; with `retry`, each pick is a retry of a first one. */
function runPicks(algorithm: Algorithm, eligible: readonly BenchServer[], retry: boolean): number {
  const plain = contexts();
  const exclude = new Set<Candidate>();
  const retries = contexts(exclude);
  const held: Array<BenchServer | undefined> = new Array(IN_FLIGHT).fill(undefined);
  const started = process.hrtime.bigint();
  for (let i = 0; i < PICKS_PER_RUN; i++) {
    const context: PickContext = plain[i & (KEYS - 1)]!;
    let server = algorithm.pick(eligible, context)!;
    if (retry) {
      exclude.clear();
      exclude.add(server);
      server = algorithm.pick(eligible, retries[i & (KEYS - 1)]!)!;
    }
    server.active++;
    algorithm.acquired?.(server);
    const slot = i & (IN_FLIGHT - 1);
    const done = held[slot];
    if (done !== undefined) {
      done.active--;
      algorithm.released?.(done);
    }
    held[slot] = server;
  }
  const ns = elapsedNs(started) / PICKS_PER_RUN;
  for (const server of held) if (server !== undefined) server.active--;
  return ns;
}

function timeMs(work: () => void): number {
  const started = process.hrtime.bigint();
  work();
  return elapsedNs(started) / 1e6;
}

interface Row {
  label: string;
  servers: number;
  pickNs: number;
  retryNs: number;
  membersMs: number;
  eligibilityMs: number;
}

function measure(variant: Variant, count: number): Row {
  const all = members(count);
  const view = viewOf(all, all, 0);
  const oneOut = viewOf(all, all.slice(1), 0);
  const membersMs: number[] = [];
  const eligibilityMs: number[] = [];
  let algorithm = variant.create();
  for (let run = 0; run < RUNS; run++) {
    algorithm = variant.create();
    const fresh = algorithm;
    membersMs.push(timeMs(() => fresh.update?.(view, 'members')));
    eligibilityMs.push(timeMs(() => fresh.update?.(oneOut, 'eligibility')));
    fresh.update?.(view, 'eligibility');
  }
  const picks: number[] = [];
  const pairs: number[] = [];
  runPicks(algorithm, view.eligible, false); // warm-up
  for (let run = 0; run < RUNS; run++) {
    picks.push(runPicks(algorithm, view.eligible, false));
    pairs.push(runPicks(algorithm, view.eligible, true));
  }
  const pickNs = median(picks);
  return { label: variant.label, servers: count, pickNs, retryNs: Math.max(0, median(pairs) - pickNs), membersMs: median(membersMs), eligibilityMs: median(eligibilityMs) };
}

interface Remap {
  servers: number;
  buildMs: number;
  points: number;
  moved: number;
  /** The removed server's share of the weight: what an ideal table moves. */
  ideal: number;
  movedFromOthers: number;
}

function remap(count: number): Remap {
  const ids = members(count).map((server) => server.id);
  const weights = Float64Array.from(members(count), (server) => server.weight);
  const builds: number[] = [];
  let ring = buildRing(ids, weights);
  buildRing(ids, weights);
  for (let run = 0; run < RUNS; run++) builds.push(timeMs(() => (ring = buildRing(ids, weights))));
  const gone = count >> 1;
  const restIds = ids.filter((_, i) => i !== gone);
  const restWeights = weights.filter((_, i) => i !== gone);
  const after = buildRing(restIds, restWeights);
  let moved = 0;
  let movedFromOthers = 0;
  for (let k = 0; k < REMAP_KEYS; k++) {
    const hash = hash32(`key-${k}`);
    const before = ids[ring.owners[ring.start(hash)]!];
    const now = restIds[after.owners[after.start(hash)]!];
    if (before === now) continue;
    moved++;
    if (before !== ids[gone]) movedFromOthers++;
  }
  const ideal = weights[gone]! / weights.reduce((sum, weight) => sum + weight, 0);
  return { servers: count, buildMs: median(builds), points: ring.points.length, moved: moved / REMAP_KEYS, ideal, movedFromOthers: movedFromOthers / REMAP_KEYS };
}

function markdownTable(headers: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

function fixed(value: number, digits: number): string {
  return value.toFixed(digits);
}

function main(): void {
  const started = process.hrtime.bigint();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`## Algorithm picks\n\n${new Date().toISOString().slice(0, 10)} · nproc ${os.availableParallelism()} · ${cpu} · node ${process.version} · median of ${RUNS} runs × ${PICKS_PER_RUN.toLocaleString('en')} picks, ${IN_FLIGHT} requests in flight, weights 1-4, ${KEYS} client addresses\n`);
  // JIT first: the first variant measured must not pay for everyone's compilation
  for (const variant of VARIANTS) measure(variant, 100);
  const rows: string[][] = [];
  for (const variant of VARIANTS) {
    for (const count of SIZES) {
      const row = measure(variant, count);
      rows.push([row.label, row.servers.toLocaleString('en'), fixed(row.pickNs, 0), fixed(row.retryNs, 0), fixed(row.membersMs, 3), fixed(row.eligibilityMs, 3)]);
    }
  }
  console.log(markdownTable(['algorithm', 'servers', 'pick ns', 'retry pick ns (1 excluded)', "update('members') ms", "update('eligibility') ms"], rows));
  console.log('\npick ns: one pick plus its acquired() and a released(); retry pick ns: what a second pick excluding the first adds.\n');
  const remaps: string[][] = [];
  for (const count of SIZES) {
    const result = remap(count);
    remaps.push([result.servers.toLocaleString('en'), fixed(result.buildMs, 2), result.points.toLocaleString('en'), `${fixed(result.moved * 100, 3)}%`, `${fixed(result.ideal * 100, 3)}%`, `${fixed(result.movedFromOthers * 100, 3)}%`]);
  }
  console.log(markdownTable(['servers', 'ring build ms', 'points', 'keys moved on removing 1', 'its weight share', 'moved from other servers'], remaps));
  console.log(`\n${REMAP_KEYS.toLocaleString('en')} keys; the ring built alone (no bookkeeping). Whole run: ${fixed(elapsedNs(started) / 1e9, 1)} s.`);
}

main();

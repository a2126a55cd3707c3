/**
 * `npm run bench:duel`: each req/s check of `npm run bench`, measured as a duel. The two rows'
 * proxies run at the same time on the same core, each loaded by its own `wrk` with half the
 * connections. The scheduler gives two busy processes equal shares of the core, so the ratio of
 * their req/s is the ratio of their costs per request. Outside load on a shared machine slows
 * both at once and cancels out, which rows measured one after the other cannot offer: there, a
 * minute of other work moves a ratio by 10–40%; here the control duel's median stays within 2% of 1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { installCleanup, spawnPinned, stop, waitForReady } from './children.js';
import { runLoad } from './load.js';
import type { LoadResult } from './load-result.js';
import { describeMachine, pinning } from './machine.js';
import { startVerifiedProxy, type BenchContext, type RunningProxy } from './measure.js';
import { processCpuTicks } from './proc.js';
import { markdownTable } from './report.js';
import { readSettings, type ProxyRowName } from './settings.js';
import { CHECKS, median, passes, type Check } from './summary.js';

const RESULTS_FILE = path.resolve(__dirname, '..', '..', '.bench-results', 'duel.md');
/** Below this the core was not saturated by the pair, and the ratio says nothing about cost. */
const SATURATED_CPU = 0.9;
/** Each proxy warms at half speed beside the other: JIT and pools need longer than a row alone. */
const MIN_WARMUP_S = 3;
/** `wrap()` against itself: how far from 1 the method alone strays, to read the other ratios by. */
const CONTROL: Check = { label: 'control: plain wrap() vs plain wrap()', subject: 'switchyard-wrap', baseline: 'switchyard-wrap', metric: 'requestsPerSec', kind: 'min', bar: 0 };

interface DuelRound {
  ratio: number;
  subjectRps: number;
  baselineRps: number;
  /** Both proxies' CPU over the measured window, as a share of the one core. */
  coreUsed: number | undefined;
}

interface DuelResult {
  check: Check;
  rounds: DuelRound[];
}

async function main(): Promise<void> {
  installCleanup();
  const settings = readSettings(process.argv.slice(2), process.env);
  const machine = describeMachine();
  const { proxyCore, loadCore } = pinning(machine);
  if (proxyCore === undefined) throw new Error('a duel needs taskset and two cores: both proxies on one, the load on the other');
  if (machine.wrkVersion === undefined) throw new Error('a duel needs wrk: two load generators at once must not compete for the load core');
  const checks = CHECKS.filter((check) => check.metric === 'requestsPerSec' && settings.rows.includes(check.subject) && settings.rows.includes(check.baseline));
  const duels = settings.rows.includes('switchyard-wrap') ? [CONTROL, ...checks] : checks;

  const backends = spawnPinned('backends', loadCore, process.execPath, [path.join(__dirname, 'backend.js')], { echoStderr: true });
  const backendPorts = (await waitForReady(backends)).split(',').map(Number);
  const context: BenchContext = { generator: 'wrk', durationS: settings.durationS, warmupS: Math.max(MIN_WARMUP_S, settings.warmupS), connections: settings.connections, proxyCore, loadCore, backendPorts, clockTicks: machine.clockTicks };
  const header = `${machine.date} · nproc ${machine.nproc} · ${machine.cpuModel} · node ${machine.node} · ${settings.rounds} round(s) × (${context.warmupS} s warm-up + ${settings.durationS} s) · ${settings.connections / 2} connections to each proxy, both on core 0`;
  console.log(header);

  const results: DuelResult[] = duels.map((check) => ({ check, rounds: [] }));
  for (let round = 1; round <= settings.rounds; round++) {
    for (const result of results) {
      const duel = await runDuel(result.check, context);
      result.rounds.push(duel);
      console.log(`round ${round}/${settings.rounds}  ${result.check.label.padEnd(56)}  ${duel.ratio.toFixed(3)}  (${Math.round(duel.subjectRps)} / ${Math.round(duel.baselineRps)} req/s)`);
    }
  }
  const table = renderTable(results);
  console.log(`\n${table}`);
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `## Duels\n\n${header}\n\n${table}\n`);
  console.log(`\nMarkdown written to ${path.relative(process.cwd(), RESULTS_FILE)}`);
  await stop(backends);
}

async function runDuel(check: Check, context: BenchContext): Promise<DuelRound> {
  const subject = await startVerifiedProxy(check.subject as ProxyRowName, context);
  let baseline: RunningProxy | undefined;
  try {
    baseline = await startVerifiedProxy(check.baseline as ProxyRowName, context);
    const load = (proxy: RunningProxy, durationS: number): Promise<LoadResult> =>
      runLoad('wrk', { url: `http://127.0.0.1:${proxy.port}/`, connections: context.connections / 2, durationS, core: context.loadCore });
    await Promise.all([load(subject, context.warmupS), load(baseline, context.warmupS)]);
    const before = bothCpuTicks(subject, baseline);
    const startedAt = process.hrtime.bigint();
    const [subjectLoad, baselineLoad] = await Promise.all([load(subject, context.durationS), load(baseline, context.durationS)]);
    const wallS = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const after = bothCpuTicks(subject, baseline);
    const coreUsed = before === undefined || after === undefined ? undefined : (after - before) / context.clockTicks / wallS;
    return { ratio: subjectLoad.requestsPerSec / baselineLoad.requestsPerSec, subjectRps: subjectLoad.requestsPerSec, baselineRps: baselineLoad.requestsPerSec, coreUsed };
  } finally {
    await Promise.all([stop(subject.child), baseline && stop(baseline.child)]);
  }
}

function bothCpuTicks(a: RunningProxy, b: RunningProxy): number | undefined {
  const [ticksA, ticksB] = [processCpuTicks(a.child.pid), processCpuTicks(b.child.pid)];
  return ticksA === undefined || ticksB === undefined ? undefined : ticksA + ticksB;
}

function renderTable(results: readonly DuelResult[]): string {
  const rows = results.map(({ check, rounds }) => {
    const ratios = rounds.map((round) => round.ratio);
    const ratio = median(ratios);
    const cores = rounds.map((round) => round.coreUsed).filter((share): share is number => share !== undefined);
    const lowestCore = cores.length ? Math.min(...cores) : undefined;
    const saturated = lowestCore === undefined || lowestCore >= SATURATED_CPU;
    const result = !saturated ? 'n/a (core not saturated)' : check === CONTROL ? 'the noise' : passes(check, ratio) ? 'PASS' : 'MISS';
    return [
      check.label,
      ratio.toFixed(3),
      `${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}`,
      lowestCore === undefined ? '—' : `${(lowestCore * 100).toFixed(0)}%`,
      check === CONTROL ? '—' : `≥ ${check.bar.toFixed(2)}`,
      result,
    ];
  });
  return markdownTable(['duel', 'median ratio', 'per round', 'core used', 'bar', 'result'], rows);
}

main().catch((error: unknown) => {
  console.error(`\nbench:duel failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1); // the 'exit' hook kills every child
});

/**
 * `npm run bench`: every row in one run, on the same backends, interleaved over rounds.
 * Prints medians and switchyard's ratios against its bars; writes .bench-results/latest.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { installCleanup, spawnPinned, stop, waitForReady } from './children.js';
import type { LoadGenerator } from './load.js';
import { describeMachine, pinning, type Machine } from './machine.js';
import { measureRow, startVerifiedProxy, type BenchContext, type Measurement } from './measure.js';
import { machineLine, renderMarkdown, renderText, type ReportInput } from './report.js';
import { readSettings, ROW_LABELS, type BenchSettings, type RowName } from './settings.js';
import { evaluateChecks, summarize } from './summary.js';
import { verifyProxies } from './verify.js';

const RESULTS_FILE = path.resolve(__dirname, '..', '..', '.bench-results', 'latest.md');
const LABEL_WIDTH = Math.max(...Object.values(ROW_LABELS).map((label) => label.length));

async function main(): Promise<void> {
  installCleanup();
  const settings = readSettings(process.argv.slice(2), process.env);
  const machine = describeMachine();
  const generator = chooseGenerator(settings, machine);
  const { proxyCore, loadCore } = pinning(machine);

  const backends = spawnPinned('backends', loadCore, process.execPath, [path.join(__dirname, 'backend.js')], { echoStderr: true });
  const backendPorts = (await waitForReady(backends)).split(',').map(Number);
  const context: BenchContext = {
    generator,
    durationS: settings.durationS,
    warmupS: settings.warmupS,
    connections: settings.connections,
    proxyCore,
    loadCore,
    backendPorts,
    clockTicks: machine.clockTicks,
  };
  const reportBase = { machine, settings, generator: generatorLabel(generator, machine), pinned: proxyCore !== undefined };
  console.log(machineLine({ ...reportBase, summaries: [], checks: [] }));

  await checkEveryRowProxies(settings.rows, context);
  const measurements = await measureRounds(settings, context);

  const summaries = summarize(settings.rows, measurements);
  const input: ReportInput = { ...reportBase, summaries, checks: evaluateChecks(measurements) };
  console.log(`\n${renderText(input)}`);
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, renderMarkdown(input));
  console.log(`\nMarkdown written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  await stop(backends);
}

/** Fail in seconds, not after minutes of load, when a row does not proxy. */
async function checkEveryRowProxies(rows: readonly RowName[], context: BenchContext): Promise<void> {
  for (const row of rows) {
    if (row === 'direct') {
      await verifyProxies(ROW_LABELS[row], context.backendPorts[0]!, 1);
    } else {
      await stop((await startVerifiedProxy(row, context)).child);
    }
  }
  console.log(`checked: ${rows.length} row(s) return the backends' body, proxies round robin over ${context.backendPorts.length} backends`);
}

/** Rows interleaved and rotated each round, so no row always runs first or right after another. */
async function measureRounds(settings: BenchSettings, context: BenchContext): Promise<Measurement[]> {
  const measurements: Measurement[] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    const shift = (round - 1) % settings.rows.length;
    const order = [...settings.rows.slice(shift), ...settings.rows.slice(0, shift)];
    for (const row of order) {
      const measurement = await measureRow(row, round, context);
      measurements.push(measurement);
      console.log(progressLine(measurement, settings.rounds));
    }
  }
  return measurements;
}

function progressLine(measurement: Measurement, rounds: number): string {
  const { load } = measurement;
  const parts = [
    `round ${measurement.round}/${rounds}`,
    ROW_LABELS[measurement.row].padEnd(LABEL_WIDTH),
    `${Math.round(load.requestsPerSec).toLocaleString('en-US').padStart(7)} req/s`,
    `p50 ${load.p50Ms.toFixed(2)} ms`,
    `p99 ${load.p99Ms.toFixed(2)} ms`,
  ];
  if (measurement.peakRssBytes !== undefined) parts.push(`RSS ${(measurement.peakRssBytes / 1024 / 1024).toFixed(1)} MB`);
  if (measurement.proxyCpu !== undefined) parts.push(`proxy CPU ${(measurement.proxyCpu * 100).toFixed(0)}%`);
  if (measurement.cpuPerRequestUs !== undefined) parts.push(`${measurement.cpuPerRequestUs.toFixed(1)} µs/req`);
  if (measurement.loadCoreBusy !== undefined) parts.push(`load core ${(measurement.loadCoreBusy * 100).toFixed(0)}%`);
  if (measurement.proxyCoreOther !== undefined) parts.push(`core 0 other ${(measurement.proxyCoreOther * 100).toFixed(0)}%`);
  if (load.non2xx + load.errors > 0) parts.push(`WARNING: ${load.non2xx} non-2xx, ${load.errors} socket errors`);
  return parts.join('  ');
}

function chooseGenerator(settings: BenchSettings, machine: Machine): LoadGenerator {
  if (settings.loadGenerator === 'autocannon') return 'autocannon';
  if (machine.wrkVersion !== undefined) return 'wrk';
  if (settings.loadGenerator === 'wrk') throw new Error('BENCH_LOADGEN=wrk but wrk is not on PATH');
  return 'autocannon';
}

function generatorLabel(generator: LoadGenerator, machine: Machine): string {
  if (generator === 'wrk') return machine.wrkVersion?.split(' ').slice(0, 2).join(' ') ?? 'wrk';
  const { version } = JSON.parse(readFileSync(require.resolve('autocannon/package.json'), 'utf8')) as { version: string };
  return `autocannon ${version}`;
}

main().catch((error: unknown) => {
  console.error(`\nbench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1); // the 'exit' hook kills every child
});

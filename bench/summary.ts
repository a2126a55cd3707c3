/** Medians per row over the rounds, and switchyard's ratios against the bars. */
import type { Measurement } from './measure.js';
import type { RowName } from './settings.js';

export interface RowSummary {
  row: RowName;
  rounds: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  peakRssBytes: number | undefined;
  proxyCpu: number | undefined;
  loadCoreBusy: number | undefined;
  /** Highest share of the proxy's core taken by other processes in any round. */
  proxyCoreOtherMax: number | undefined;
  /** (max − min) / median of req/s over the rounds: how noisy this row was. */
  rpsSpread: number;
  /** Non-2xx responses plus socket errors, summed over the measured runs. */
  failures: number;
}

export interface Check {
  label: string;
  subject: RowName;
  baseline: RowName;
  metric: 'requestsPerSec' | 'p99Ms';
  /** `min`: ratio must be ≥ bar; `max`: ratio must be ≤ bar. */
  kind: 'min' | 'max';
  bar: number;
}

export const CHECKS: readonly Check[] = [
  { label: 'express() vs express + http-proxy, req/s', subject: 'switchyard-express', baseline: 'express-http-proxy', metric: 'requestsPerSec', kind: 'min', bar: 0.95 },
  { label: 'express() vs express + http-proxy-middleware, req/s', subject: 'switchyard-express', baseline: 'express-hpm', metric: 'requestsPerSec', kind: 'min', bar: 1.15 },
  { label: 'wrap() vs node:http + http-proxy, req/s', subject: 'switchyard-wrap', baseline: 'node-http-proxy', metric: 'requestsPerSec', kind: 'min', bar: 0.95 },
  { label: 'express() p99 vs express + http-proxy p99', subject: 'switchyard-express', baseline: 'express-http-proxy', metric: 'p99Ms', kind: 'max', bar: 1.1 },
  { label: 'wrap() p99 vs node:http + http-proxy p99', subject: 'switchyard-wrap', baseline: 'node-http-proxy', metric: 'p99Ms', kind: 'max', bar: 1.1 },
  { label: 'wrap() vs the bare node:http forwarder, req/s', subject: 'switchyard-wrap', baseline: 'bare-forwarder', metric: 'requestsPerSec', kind: 'min', bar: 0.95 },
  { label: 'wrap() with every feature vs plain wrap(), req/s', subject: 'switchyard-wrap-all', baseline: 'switchyard-wrap', metric: 'requestsPerSec', kind: 'min', bar: 0.9 },
  { label: 'wrap() with one header hook vs plain wrap(), req/s', subject: 'switchyard-wrap-hook', baseline: 'switchyard-wrap', metric: 'requestsPerSec', kind: 'min', bar: 0.95 },
  { label: 'wrap() with p2c vs plain wrap(), req/s', subject: 'switchyard-wrap-p2c', baseline: 'switchyard-wrap', metric: 'requestsPerSec', kind: 'min', bar: 0.95 },
  { label: 'wrap() with bounded-load hashing vs plain wrap(), req/s', subject: 'switchyard-wrap-hash', baseline: 'switchyard-wrap', metric: 'requestsPerSec', kind: 'min', bar: 0.95 },
];

export interface CheckResult {
  check: Check;
  /** Ratio of the medians; undefined when a row was not run. */
  ratio: number | undefined;
  /** Lowest and highest ratio within one round (rows are interleaved, so rounds pair up). */
  perRound: { min: number; max: number } | undefined;
  pass: boolean | undefined;
}

export function summarize(rows: readonly RowName[], measurements: readonly Measurement[]): RowSummary[] {
  return rows.map((row) => {
    const mine = measurements.filter((measurement) => measurement.row === row);
    const rps = mine.map((measurement) => measurement.load.requestsPerSec);
    const requestsPerSec = median(rps);
    return {
      row,
      rounds: mine.length,
      requestsPerSec,
      p50Ms: median(mine.map((measurement) => measurement.load.p50Ms)),
      p99Ms: median(mine.map((measurement) => measurement.load.p99Ms)),
      peakRssBytes: medianOfDefined(mine.map((measurement) => measurement.peakRssBytes)),
      proxyCpu: medianOfDefined(mine.map((measurement) => measurement.proxyCpu)),
      loadCoreBusy: medianOfDefined(mine.map((measurement) => measurement.loadCoreBusy)),
      proxyCoreOtherMax: maxOfDefined(mine.map((measurement) => measurement.proxyCoreOther)),
      rpsSpread: requestsPerSec > 0 ? (Math.max(...rps) - Math.min(...rps)) / requestsPerSec : 0,
      failures: mine.reduce((sum, measurement) => sum + measurement.load.non2xx + measurement.load.errors, 0),
    };
  });
}

export function evaluateChecks(summaries: readonly RowSummary[], measurements: readonly Measurement[]): CheckResult[] {
  const byRow = new Map(summaries.map((summary) => [summary.row, summary]));
  return CHECKS.map((check) => {
    const subject = byRow.get(check.subject);
    const baseline = byRow.get(check.baseline);
    if (!subject || !baseline || subject.rounds === 0 || baseline.rounds === 0) return { check, ratio: undefined, perRound: undefined, pass: undefined };
    const ratio = subject[check.metric] / baseline[check.metric];
    return { check, ratio, perRound: perRoundRatios(check, measurements), pass: check.kind === 'min' ? ratio >= check.bar : ratio <= check.bar };
  });
}

function perRoundRatios(check: Check, measurements: readonly Measurement[]): { min: number; max: number } | undefined {
  const ratios: number[] = [];
  for (const subject of measurements.filter((measurement) => measurement.row === check.subject)) {
    const baseline = measurements.find((measurement) => measurement.row === check.baseline && measurement.round === subject.round);
    if (baseline) ratios.push(subject.load[check.metric] / baseline.load[check.metric]);
  }
  return ratios.length ? { min: Math.min(...ratios), max: Math.max(...ratios) } : undefined;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function maxOfDefined(values: readonly (number | undefined)[]): number | undefined {
  const defined = values.filter((value): value is number => value !== undefined);
  return defined.length ? Math.max(...defined) : undefined;
}

function medianOfDefined(values: readonly (number | undefined)[]): number | undefined {
  const defined = values.filter((value): value is number => value !== undefined);
  return defined.length ? median(defined) : undefined;
}

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
  cpuPerRequestUs: number | undefined;
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
  /**
   * The median over rounds of the ratio within each round (rows are interleaved, so each round
   * pairs a subject run with a baseline run minutes or seconds apart, and outside load that comes
   * and goes over a run cancels out); undefined when a row was not run.
   */
  ratio: number | undefined;
  /** Lowest and highest ratio within one round. */
  perRound: { min: number; max: number } | undefined;
  /**
   * For a req/s check, the same comparison on CPU time per request (the baseline's over the
   * subject's, so that above 1 is better here too); undefined for latency checks or without /proc.
   */
  cpuRatio: number | undefined;
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
      cpuPerRequestUs: medianOfDefined(mine.map((measurement) => measurement.cpuPerRequestUs)),
      loadCoreBusy: medianOfDefined(mine.map((measurement) => measurement.loadCoreBusy)),
      proxyCoreOtherMax: maxOfDefined(mine.map((measurement) => measurement.proxyCoreOther)),
      rpsSpread: requestsPerSec > 0 ? (Math.max(...rps) - Math.min(...rps)) / requestsPerSec : 0,
      failures: mine.reduce((sum, measurement) => sum + measurement.load.non2xx + measurement.load.errors, 0),
    };
  });
}

export function evaluateChecks(measurements: readonly Measurement[]): CheckResult[] {
  return CHECKS.map((check) => {
    const ratios = roundRatios(check, measurements, (subject, baseline) => subject.load[check.metric] / baseline.load[check.metric]);
    if (ratios.length === 0) return { check, ratio: undefined, perRound: undefined, cpuRatio: undefined, pass: undefined };
    const ratio = median(ratios);
    const cpuRatios =
      check.metric === 'requestsPerSec'
        ? roundRatios(check, measurements, (subject, baseline) => (subject.cpuPerRequestUs && baseline.cpuPerRequestUs ? baseline.cpuPerRequestUs / subject.cpuPerRequestUs : undefined))
        : [];
    return {
      check,
      ratio,
      perRound: { min: Math.min(...ratios), max: Math.max(...ratios) },
      cpuRatio: cpuRatios.length ? median(cpuRatios) : undefined,
      pass: passes(check, ratio),
    };
  });
}

export function passes(check: Check, ratio: number): boolean {
  return check.kind === 'min' ? ratio >= check.bar : ratio <= check.bar;
}

/** `ratio(subject, baseline)` for every round that measured both rows. */
function roundRatios(check: Check, measurements: readonly Measurement[], ratio: (subject: Measurement, baseline: Measurement) => number | undefined): number[] {
  const ratios: number[] = [];
  for (const subject of measurements.filter((measurement) => measurement.row === check.subject)) {
    const baseline = measurements.find((measurement) => measurement.row === check.baseline && measurement.round === subject.round);
    const value = baseline && ratio(subject, baseline);
    if (value !== undefined && Number.isFinite(value)) ratios.push(value);
  }
  return ratios;
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

/** Renders the results twice from the same cells: an aligned table for the terminal, Markdown for the README. */
import type { Machine } from './machine.js';
import { ROW_LABELS, type BenchSettings } from './settings.js';
import type { CheckResult, RowSummary } from './summary.js';

export interface ReportInput {
  machine: Machine;
  settings: BenchSettings;
  generator: string;
  pinned: boolean;
  summaries: readonly RowSummary[];
  checks: readonly CheckResult[];
}

const ROW_HEADERS = ['row', 'req/s', 'p50 ms', 'p99 ms', 'peak RSS', 'proxy CPU', 'CPU µs/req', 'load core', 'core 0 other', 'req/s spread', 'errors'];
const CHECK_HEADERS = ['switchyard check', 'ratio', 'per round', 'CPU ratio', 'bar', 'result'];

export function machineLine(input: ReportInput): string {
  const { machine, settings } = input;
  return (
    `${machine.date} · nproc ${machine.nproc} · ${machine.cpuModel} · node ${machine.node} · ${input.generator} · ` +
    `${settings.rounds} round(s) × (${settings.warmupS} s warm-up + ${settings.durationS} s) · ${settings.connections} connections · ` +
    (input.pinned ? 'proxy pinned to core 0, backends + load generator to core 1' : 'not pinned (no taskset or one core)')
  );
}

export function renderText(input: ReportInput): string {
  return [machineLine(input), '', alignedTable(ROW_HEADERS, rowCells(input)), '', alignedTable(CHECK_HEADERS, checkCells(input)), '', footnote(input)].join('\n');
}

export function renderMarkdown(input: ReportInput): string {
  return [
    '## Benchmark',
    '',
    machineLine(input),
    '',
    markdownTable(ROW_HEADERS, rowCells(input)),
    '',
    markdownTable(CHECK_HEADERS, checkCells(input)),
    '',
    footnote(input),
    '',
  ].join('\n');
}

function footnote(input: ReportInput): string {
  return (
    `Rows: medians over ${input.settings.rounds} interleaved round(s); checks: the median over rounds of each round's ratio. Round robin over three 100-byte keep-alive backends. ` +
    'proxy CPU: share of its one core the proxy used; CPU µs/req: its CPU time per request answered; load core: share of core 1 (load generator + backends) busy; ' +
    'core 0 other: worst round\'s share of the proxy\'s core taken by other processes (above a few % that round was disturbed); ' +
    'req/s spread: (max − min) / median over rounds; per round: lowest–highest ratio within one round; ' +
    'CPU ratio: the baseline\'s CPU µs/req over the subject\'s, the same comparison in CPU cost (above 1 is cheaper).'
  );
}

function rowCells(input: ReportInput): string[][] {
  return input.summaries.map((summary) => [
    ROW_LABELS[summary.row],
    Math.round(summary.requestsPerSec).toLocaleString('en-US'),
    summary.p50Ms.toFixed(2),
    summary.p99Ms.toFixed(2),
    summary.peakRssBytes === undefined ? '—' : `${(summary.peakRssBytes / 1024 / 1024).toFixed(1)} MB`,
    percent(summary.proxyCpu),
    summary.cpuPerRequestUs === undefined ? '—' : summary.cpuPerRequestUs.toFixed(1),
    percent(summary.loadCoreBusy),
    percent(summary.proxyCoreOtherMax),
    percent(summary.rpsSpread),
    String(summary.failures),
  ]);
}

function checkCells(input: ReportInput): string[][] {
  return input.checks.map(({ check, ratio, perRound, cpuRatio, pass }) => [
    check.label,
    ratio === undefined ? 'n/a' : ratio.toFixed(3),
    perRound === undefined ? '—' : `${perRound.min.toFixed(3)}–${perRound.max.toFixed(3)}`,
    cpuRatio === undefined ? '—' : cpuRatio.toFixed(3),
    `${check.kind === 'min' ? '≥' : '≤'} ${check.bar.toFixed(2)}`,
    pass === undefined ? 'n/a (row not run)' : pass ? 'PASS' : 'MISS',
  ]);
}

function percent(value: number | undefined): string {
  return value === undefined ? '—' : `${(value * 100).toFixed(0)}%`;
}

function alignedTable(headers: readonly string[], rows: readonly string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  // text columns left, figures right
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd();
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable(headers: readonly string[], rows: readonly string[][]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  const align = headers.map((_, column) => (column === 0 ? ':---' : '---:'));
  return [line(headers), line(align), ...rows.map(line)].join('\n');
}

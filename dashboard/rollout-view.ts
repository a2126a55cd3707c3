import type { HistoryPoint } from '../middleware/rollout/engine.js';
import { formatConfidence, formatCount, formatMs, formatRate, type ArmSummary } from '../middleware/rollout/judge/verdict.js';
import type { RolloutSnapshot } from '../middleware/rollout/rollout.js';

/**
 * A rollout snapshot → the strings its panel shows (views/rollout-panel.ejs renders them, the
 * page's rollout.js copies them in with textContent). Numbers are formatted as the judge's own
 * reasons format them, so the panel and the verdicts agree to the digit.
 */

/** The cells of an arm's column; each is an element with `data-r="<arm>.<name>"`. */
export const ARM_FIELDS = ['servers', 'requests', 'errorRate', 'p50', 'p99', 'pinned'] as const;
export type ArmField = (typeof ARM_FIELDS)[number];

/** The panel's single-value cells; each is an element with `data-r="<name>"`. */
export const ROLLOUT_FIELDS = ['id', 'headline', 'bakeLeft', 'measuredShare', 'eValue', 'eThreshold', 'decision', 'started', 'cohort', 'chartNote'] as const;
export type RolloutField = (typeof ROLLOUT_FIELDS)[number];

export interface StepView {
  /** "25%" and "bakes 1 min". */
  share: string;
  bake: string;
  state: 'done' | 'current' | 'next';
}

/** An SVG polyline's `points` in a 120 × 40 box, and the top of its scale. */
export interface ChartView {
  canary: string;
  baseline: string;
  max: string;
}

export interface RolloutView {
  status: RolloutSnapshot['status'];
  cells: Record<RolloutField, string>;
  arms: Record<'canary' | 'baseline', Record<ArmField, string>>;
  steps: StepView[];
  charts: { errors: ChartView; p99: ChartView };
  /** Which buttons apply now. */
  can: { pause: boolean; resume: boolean; promote: boolean; abort: boolean };
}

export const CHART_WIDTH = 120;
export const CHART_HEIGHT = 40;

export function rolloutView(snapshot: RolloutSnapshot): RolloutView {
  const { status, steps, step } = snapshot;
  const finished = status === 'aborted' || status === 'completed';
  const confidence = formatConfidence(snapshot.analysis.confidence);
  return {
    status,
    cells: {
      id: snapshot.id,
      headline: headline(snapshot),
      bakeLeft: finished ? '–' : steps[step]!.share >= 100 ? 'no bake at 100%' : `${seconds(snapshot.bakeLeftMs)} left${status === 'paused' ? ' (paused)' : ''}${snapshot.extensions > 0 ? `, extended ${snapshot.extensions}×` : ''}`,
      measuredShare: `${formatRate(snapshot.measuredShare / 100)} measured of ${snapshot.share}%`,
      eValue: snapshot.eValue.toFixed(2),
      eThreshold: `${formatCount(snapshot.eThreshold)} (${confidence} confidence)`,
      decision: decisionText(snapshot),
      started: `by ${snapshot.startedBy} at ${new Date(snapshot.startedAt).toISOString().slice(11, 19)} UTC · led by ${snapshot.leaderInstance}`,
      cohort: snapshot.cohort,
      chartNote: snapshot.history.length < 2 ? 'the chart fills in every 5 s' : `last ${seconds(snapshot.history.at(-1)!.at - snapshot.history[0]!.at)}`,
    },
    arms: { canary: armCells(snapshot.canary), baseline: armCells(snapshot.baseline) },
    steps: steps.map((s, i) => ({
      share: `${s.share}%`,
      bake: s.share >= 100 ? 'final' : `bakes ${seconds(s.bakeMs)}`,
      state: status === 'completed' || i < step ? 'done' : i === step ? 'current' : 'next',
    })),
    charts: {
      errors: chart(snapshot.history, (arm) => arm.errorRate * 100, 1, (max) => `${max.toFixed(max < 10 ? 1 : 0)}% errors`),
      p99: chart(snapshot.history, (arm) => arm.p99Ms, 1, (max) => `${formatMs(max)} p99`),
    },
    can: { pause: status === 'running', resume: status === 'paused', promote: !finished, abort: !finished },
  };
}

/** "running · step 2 of 4 · 25% to the canary". */
function headline(snapshot: RolloutSnapshot): string {
  const { status, step, steps } = snapshot;
  if (status === 'completed') return `completed · ${snapshot.final === 'promote' ? (snapshot.finalStage === 'done' ? 'baseline removed' : 'baseline draining') : 'both arms kept'}`;
  if (status === 'aborted') return 'aborted · canary disabled';
  return `${status} · step ${step + 1} of ${steps.length} · ${snapshot.share}% to the canary`;
}

/** "aborted: canary 4.1% errors vs 0.3%, …": the reason says what the judge saw; the kind what it decided. */
function decisionText(snapshot: RolloutSnapshot): string {
  const { status, reason, decision } = snapshot;
  if (status === 'aborted' || status === 'completed' || status === 'paused') return reason === '' ? status : `${status}: ${reason}`;
  if (decision) return `last verdict, ${decision.kind}: ${decision.reason}`;
  return 'no verdict yet: the step is baking';
}

function armCells(arm: RolloutSnapshot['canary']): Record<ArmField, string> {
  const w = arm.window;
  return {
    servers: arm.servers.join(', '),
    requests: formatCount(w.requests),
    errorRate: w.requests > 0 ? `${formatRate(w.errorRate)} (${formatCount(w.errors)})` : '–',
    p50: w.requests > 0 ? formatMs(w.p50Ms) : '–',
    p99: w.requests > 0 ? formatMs(w.p99Ms) : '–',
    pinned: formatCount(arm.pinned),
  };
}

/** Both arms' lines over the history, on one scale from 0 to the highest value (at least `floor`). */
function chart(history: readonly HistoryPoint[], value: (arm: ArmSummary) => number, floor: number, label: (max: number) => string): ChartView {
  let max = floor;
  for (const point of history) max = Math.max(max, finite(value(point.canary)), finite(value(point.baseline)));
  const line = (arm: 'canary' | 'baseline'): string => {
    if (history.length < 2) return '';
    const step = CHART_WIDTH / (history.length - 1);
    return history.map((point, i) => `${(i * step).toFixed(1)},${(CHART_HEIGHT - 1 - (finite(value(point[arm])) / max) * (CHART_HEIGHT - 2)).toFixed(1)}`).join(' ');
  };
  return { canary: line('canary'), baseline: line('baseline'), max: label(max) };
}

function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

/** 90 000 → "1 min 30 s"; 4200 → "4 s". */
function seconds(ms: number): string {
  const total = Math.ceil(Math.max(0, ms) / 1000);
  if (total < 60) return `${total} s`;
  const minutes = Math.floor(total / 60);
  const rest = total % 60;
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

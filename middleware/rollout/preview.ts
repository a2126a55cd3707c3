import { isCanary, type NormalizedPlan } from './plan.js';
import type { Arm } from './split.js';

/** What the preview needs of a server: its record's identity and what the pool does with it now. */
export interface PreviewServer {
  id: string;
  labels: Readonly<Record<string, string>>;
  backup: boolean;
  /** Takes new requests now (active, healthy; a backup only while no primary is). */
  eligible: boolean;
  /** The weight picks use now (slow start included). */
  effectiveWeight: number;
}

export interface PreviewRow {
  id: string;
  arm: Arm;
  /** Expected share of the pool's requests, in percent. */
  share: number;
}

export interface TrafficPreview {
  /** The canary's configured share, in percent. */
  share: number;
  /** Where the requests go once a share has nowhere to land in its own arm. */
  note: string;
  servers: PreviewRow[];
}

/**
 * The traffic split a canary share would give, per server, without touching the pool: the
 * canary's `share` % spread over its eligible servers by effective weight, the baseline's rest
 * over its own. An arm with no weight to give sends its part over the whole pool, as the split
 * does (`WHOLE_POOL`). Weights stand for what an algorithm averages to over many requests.
 */
export function previewSplit(servers: readonly PreviewServer[], canary: ReadonlySet<string>, share: number): TrafficPreview {
  const armOf = (server: PreviewServer): Arm => (canary.has(server.id) ? 'canary' : 'baseline');
  const weightOf = (server: PreviewServer): number => (server.eligible ? Math.max(0, server.effectiveWeight) : 0);
  const total = { canary: 0, baseline: 0 };
  for (const server of servers) total[armOf(server)] += weightOf(server);
  const whole = total.canary + total.baseline;
  const parts: Record<Arm, number> = { canary: share, baseline: 100 - share };
  const notes: string[] = [];
  // an empty arm's part goes over the whole pool, by weight
  let spread = 0;
  for (const arm of ['canary', 'baseline'] as const) {
    if (total[arm] > 0 || parts[arm] === 0) continue;
    spread += parts[arm];
    notes.push(`no eligible ${arm} server: its ${round(parts[arm])}% goes over the whole pool`);
  }
  const rows = servers.map((server): PreviewRow => {
    const arm = armOf(server);
    const weight = weightOf(server);
    const own = total[arm] > 0 ? (parts[arm] * weight) / total[arm] : 0;
    const extra = whole > 0 ? (spread * weight) / whole : 0;
    return { id: server.id, arm, share: round(own + extra) };
  });
  if (whole === 0) notes.push('no eligible server: requests would be refused');
  return { share, note: notes.join('; '), servers: rows };
}

/** Which servers a plan's canary selector names: by ids, or every server carrying all the labels. */
export function canaryOf(servers: readonly PreviewServer[], selector: NormalizedPlan['canary']): Set<string> {
  return new Set(servers.filter((server) => isCanary(selector, server)).map((server) => server.id));
}

/** Two decimals, enough for a 0.01 % share. */
function round(percent: number): number {
  return Math.round(percent * 100) / 100;
}

import type { IncomingMessage } from 'node:http';
import type { Algorithm, Candidate, PickContext, PoolView, UpdateReason } from '../algorithms/algorithm.js';
import { ALGORITHMS } from '../algorithms/index.js';
import { isUnassignedSession, newSessionId } from '../affinity/session-ids.js';
import type { Guard } from '../guard.js';
import type { Server } from '../pool/server.js';
import type { Outcome } from '../stats/server-stats.js';
import { cohortBucket, headerReader, inCanary, type CohortReader } from './cohort.js';
import { emptyArm, type Second } from './engine.js';
import { bucketOf } from './histogram.js';

export type Arm = 'canary' | 'baseline';

/** What a pick context carries for the split (the request's Exchange has these fields). */
interface CohortContext extends PickContext {
  req?: IncomingMessage;
  pinning?: { session: Buffer } | undefined;
  cohortArm?: Arm | undefined;
  cohortSession?: Buffer | undefined;
  pool?: { config: { sticky: unknown } };
}

/** Answered by `choose` when the split has no opinion: the pool picks over all its servers. */
export const WHOLE_POOL = Symbol('whole pool');

interface ArmView {
  /** The arm's own algorithm instance (built-ins keep per-pool structures), or the pool's for a custom one. */
  readonly algorithm: Algorithm;
  members: Server[];
  eligible: Server[];
}

const ERRORS: ReadonlySet<Outcome> = new Set<Outcome>(['http5xx', 'connect', 'timeout', 'reset', 'invalid']);

/**
 * A pool split in two arms while a rollout runs. A request's arm comes from its cohort (a stable
 * key hashed to a bucket; the canary has buckets below its share), or from a coin weighted by the
 * share when it has no key; then the pool's algorithm picks within that arm's eligible servers.
 * Each arm has its own algorithm view, rebuilt when membership or eligibility changes (never on
 * the request path). Counts each arm's requests, errors and latencies per second for the judge.
 */
export class ArmSplit {
  readonly canary: ReadonlySet<string>;
  readonly #cohort: string;
  readonly #site: string;
  #reader: CohortReader | undefined;
  readonly #guard: Guard;
  readonly #custom: boolean;
  readonly #arms: Record<Arm, ArmView>;
  #share = 0;
  #second: Second = { canary: emptyArm(), baseline: emptyArm() };

  constructor(options: { canary: Iterable<string>; cohort: string; keyFn: CohortReader | undefined; algorithm: Algorithm; algorithmName: string | undefined; balanceFactor: number; guard: Guard; poolName: string }) {
    this.canary = new Set(options.canary);
    this.#cohort = options.cohort;
    this.#guard = options.guard;
    this.#site = `pools.${options.poolName}.rollout.cohort.key`;
    if (options.keyFn) this.useKey(options.keyFn);
    else if (options.cohort.startsWith('header:')) this.#reader = headerReader(options.cohort.slice(7));
    const name = options.algorithmName;
    this.#custom = name === undefined || !(name in ALGORITHMS);
    const make = (): Algorithm => (this.#custom ? options.algorithm : ALGORITHMS[name as keyof typeof ALGORITHMS]({ balanceFactor: options.balanceFactor }));
    this.#arms = { canary: { algorithm: make(), members: [], eligible: [] }, baseline: { algorithm: make(), members: [], eligible: [] } };
  }

  /** Key requests by your function (guarded: a throw is no key), or by none (a random arm by share). */
  useKey(fn: CohortReader | undefined): void {
    this.#reader = fn ? (req) => this.#guard.run(this.#site, () => fn(req), undefined) : undefined;
  }

  /** The canary's share of traffic, in percent. */
  get share(): number {
    return this.#share;
  }

  set share(percent: number) {
    this.#share = Math.max(0, Math.min(100, percent));
  }

  get cohort(): string {
    return this.#cohort;
  }

  armOf(server: Candidate): Arm {
    return this.canary.has(server.id) ? 'canary' : 'baseline';
  }

  /** Eligible servers of an arm now. */
  eligible(arm: Arm): readonly Server[] {
    return this.#arms[arm].eligible;
  }

  /** Rebuild both arms' views from the pool's; the pool calls it where it tells its own algorithm. */
  update(view: PoolView<Server>, reason: UpdateReason): void {
    for (const arm of ['canary', 'baseline'] as const) {
      const state = this.#arms[arm];
      state.members = view.members.filter((server) => this.armOf(server) === arm);
      state.eligible = view.eligible.filter((server) => this.armOf(server) === arm);
      if (this.#custom) continue;
      state.algorithm.update?.({ members: state.members, eligible: state.eligible, isEligible: view.isEligible, now: view.now }, reason);
    }
  }

  /** The request's arm, decided once and kept on the request (retries and the pin agree). */
  armFor(context: PickContext): Arm {
    const c = context as CohortContext;
    if (c.cohortArm) return c.cohortArm;
    const bucket = this.#bucket(c);
    const arm: Arm = (bucket === undefined ? Math.random() * 100 < this.#share : inCanary(bucket, this.#share)) ? 'canary' : 'baseline';
    if (c.req) c.cohortArm = arm;
    return arm;
  }

  /** May a request pinned to `server` go there? Not when its cohort belongs to the other arm (and that arm can serve it). */
  pinAllowed(server: Server, context: PickContext): boolean {
    const arm = this.armFor(context);
    return this.armOf(server) === arm || this.#arms[arm].eligible.length === 0;
  }

  /** Pick within the request's arm; WHOLE_POOL when that arm has nothing to give. `full`: the arm's servers are all at maxConnections. */
  choose(context: PickContext, maxConnections: number, anyFull: boolean): Server | 'full' | typeof WHOLE_POOL {
    const state = this.#arms[this.armFor(context)];
    const eligible = state.eligible;
    if (eligible.length === 0) return WHOLE_POOL;
    let exclude = context.exclude;
    if (anyFull) {
      const full = new Set<Candidate>(exclude);
      for (const server of eligible) if (server.active >= maxConnections) full.add(server);
      if (full.size > (exclude?.size ?? 0)) {
        if (eligible.every((server) => full.has(server))) return exclude ? WHOLE_POOL : 'full';
        exclude = full;
      }
    }
    const pickContext = exclude === context.exclude ? context : { ...context, exclude };
    let picked: Server | undefined;
    if (this.#custom) {
      const candidates = exclude && exclude.size > 0 ? eligible.filter((server) => !exclude.has(server)) : eligible;
      if (candidates.length === 0) return WHOLE_POOL;
      picked = this.#guard.run('rollout: the pool algorithm', () => state.algorithm.pick(candidates, pickContext), undefined);
      if (picked && (!candidates.includes(picked))) picked = undefined;
    } else {
      picked = state.algorithm.pick(eligible, pickContext);
    }
    return picked ?? WHOLE_POOL;
  }

  acquired(server: Server): void {
    if (!this.#custom) this.#arms[this.armOf(server)].algorithm.acquired?.(server);
  }

  released(server: Server): void {
    if (!this.#custom) this.#arms[this.armOf(server)].algorithm.released?.(server);
  }

  /** An attempt ended on `server`: count it in its arm (O(1): an index and three increments). */
  record(server: Server, outcome: Outcome, ms: number): void {
    if (outcome === 'aborted') return; // the client left: says nothing about the server
    const arm = this.canary.has(server.id) ? this.#second.canary : this.#second.baseline;
    arm.requests++;
    if (ERRORS.has(outcome)) arm.errors++;
    arm.buckets[bucketOf(ms)]!++;
  }

  /** This second's counts, and a fresh second. */
  takeSecond(): Second {
    const second = this.#second;
    this.#second = { canary: emptyArm(), baseline: emptyArm() };
    return second;
  }

  #bucket(c: CohortContext): number | undefined {
    const req = c.req;
    if (!req) return undefined;
    if (this.#cohort === 'session') {
      const session = c.pinning?.session;
      // a first cookie names no session yet: the one drawn now becomes the client's (see Affinity.pin)
      if (session && !isUnassignedSession(session)) return cohortBucket(session);
      if (c.pool?.config.sticky) {
        // a new client: its session id is chosen now, so that its first pick and its pin agree
        c.cohortSession ??= newSessionId();
        return cohortBucket(c.cohortSession);
      }
      return undefined;
    }
    if (!this.#reader) return undefined;
    const key = this.#reader(req);
    return typeof key === 'string' && key !== '' ? cohortBucket(key) : undefined;
  }
}

import { expect } from 'chai';
import type { Algorithm, Candidate, PickContext } from '../../../middleware/algorithms/algorithm.js';
import { viewOf } from '../../../middleware/algorithms/view.js';

/** An algorithm's input: a server as it sees one, with its load and slow-start ramp set by hand. */
export class TestServer implements Candidate {
  active = 0;
  /** Share of the weight slow start lets through. */
  ramp = 1;
  constructor(readonly id: string, public weight = 1) {}
  effectiveWeight(): number {
    return this.weight * this.ramp;
  }
}

/** Servers a, b, c, … with these weights. */
export function servers(weights: readonly number[]): TestServer[] {
  return weights.map((weight, i) => new TestServer(i < 26 ? String.fromCharCode(97 + i) : `s${i}`, weight));
}

export function context(fields: Partial<PickContext> = {}): PickContext {
  return { clientAddress: '127.0.0.1', now: 0, method: 'GET', path: '/', headers: {}, ...fields };
}

/** Drives an algorithm as a pool does: update first, acquired/released around each request. */
export class Driver {
  eligible: TestServer[];

  constructor(readonly algorithm: Algorithm, readonly members: TestServer[], eligible: TestServer[] = members) {
    this.eligible = eligible;
    algorithm.update?.(viewOf(members, eligible, 0), 'members');
  }

  /** Only the eligible set (or effective weights) changed. */
  setEligible(eligible: TestServer[] = this.eligible): void {
    this.eligible = eligible;
    this.algorithm.update?.(viewOf(this.members, eligible, 0), 'eligibility');
  }

  pick(fields: Partial<PickContext> = {}): TestServer | undefined {
    return this.algorithm.pick(this.eligible, context(fields));
  }

  hold(server: TestServer): TestServer {
    server.active++;
    this.algorithm.acquired?.(server);
    return server;
  }

  release(server: TestServer): void {
    server.active--;
    this.algorithm.released?.(server);
  }

  /** A request that ends before the next one starts. */
  request(fields: Partial<PickContext> = {}): TestServer {
    const server = this.hold(this.pick(fields)!);
    this.release(server);
    return server;
  }

  sequence(count: number): string {
    return Array.from({ length: count }, () => this.request().id).join(' ');
  }
}

export function tally(count: number, pick: (i: number) => Candidate | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const id = pick(i)?.id ?? 'none';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Every server's share is within `tolerance` (2 percentage points) of what is expected. */
export function expectShares(counts: Map<string, number>, list: readonly TestServer[], expected: (server: TestServer) => number, tolerance = 0.02): void {
  const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
  for (const server of list) {
    const share = (counts.get(server.id) ?? 0) / total;
    const want = expected(server);
    expect(Math.abs(share - want), `${server.id}: ${(share * 100).toFixed(2)}% vs ${(want * 100).toFixed(2)}%`).to.be.below(tolerance);
  }
}

/** Shares in proportion to effective weight. */
export function byWeight(list: readonly TestServer[]): (server: TestServer) => number {
  const total = list.reduce((sum, server) => sum + server.effectiveWeight(), 0);
  return (server) => server.effectiveWeight() / total;
}

/** mulberry32: a small seeded generator, so that random algorithms' tests repeat exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** 10,000 distinct client addresses. */
export const ADDRESSES = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

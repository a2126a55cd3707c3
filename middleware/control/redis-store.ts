import { randomBytes } from 'node:crypto';
import { ControlError } from '../errors.js';
import type { SafeLogger } from '../logger.js';
import type { Server } from '../pool/server.js';
import type { Commit, StateSnapshot, Write } from './changes.js';
import { HealthLeader } from './health-leader.js';
import type { ServerRecord } from './records.js';
import { applyToMirror, mirrorOf, parseCommit, parsePool, readSnapshotFile, recordPrefix, snapshotOf, writeSnapshotFile, type Mirror } from './redis-state.js';
import { COMMIT, HEARTBEAT, LEAVE, PUBLISH, SEED, SNAPSHOT } from './redis-scripts.js';
import type { ControlStore, DrainReport, InstanceInfo, StoreContext, StoreListener } from './store.js';

export interface RedisControlStoreOptions {
  /** Every key is `{prefix}…`: one hash tag, so the scripts run on a Redis Cluster. Default `switchyard:`. */
  prefix?: string;
  /** How long `open()` waits for Redis before serving the seed (or `snapshotFile`). Default 1000. */
  openTimeoutMs?: number;
  /** A commit not answered in this time fails with STORE_UNAVAILABLE. Default 2000. */
  commitTimeoutMs?: number;
  /** How often each instance writes its applied revision. Default 1000. */
  heartbeatMs?: number;
  /** Entries kept in the change log (approximate trim). Default 10000. */
  maxLogLength?: number;
  /** A local JSON file of the last applied state, served at start when Redis cannot be reached. */
  snapshotFile?: string;
}

/** A pool's health-check results as its leader publishes them. */
export interface HealthReport {
  readonly instance: string;
  readonly pool: string;
  /** Server id → passed the last checks. */
  readonly healthy: Readonly<Record<string, boolean>>;
  readonly at: number;
}

/**
 * What the store uses of an ioredis client (plain, over Sentinel, or a Cluster), written out so
 * that the published types need no ioredis: any of them fits.
 */
export interface RedisControlClient {
  readonly status: string;
  readonly isCluster?: boolean;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  eval(script: string, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown>;
  xread(...args: Array<string | number>): Promise<unknown>;
  connect(): Promise<void>;
  disconnect(): void;
  /** A second connection for the blocking reads of the change log (its arguments differ between a client and a Cluster). */
  duplicate(...args: never[]): RedisControlClient;
}
type Client = RedisControlClient;
type Entry = [id: string, fields: string[]];

/** Known to be cut off: fail at once instead of waiting in ioredis's offline queue. */
const READY = 'ready';

/**
 * Control state shared between balancer instances through Redis (plain, Sentinel or Cluster).
 * Each pool is a hash of record JSON; a commit is one Lua compare-and-set on every record's rev
 * that bumps a global revision and appends the commit to a stream, which every instance tails on
 * its own connection. A gap in the stream (trimmed past our position), a reconnect, a revision
 * that went backwards or a new epoch (FLUSHALL, a replaced Redis) make an instance re-read the
 * whole state; an emptied Redis is reseeded from the last state the instance applied.
 *
 * Requests never wait on Redis: while it is away, commits fail at once with STORE_UNAVAILABLE
 * and every instance keeps serving its last state. The client stays yours: `close()` leaves it
 * open (its duplicate for the blocking reads is closed).
 *
 * @example
 * const store = new RedisControlStore(new Redis(process.env.REDIS_URL), { prefix: 'switchyard:' });
 * createBalancer({ pools, control: { store, instanceId: os.hostname() } });
 */
export class RedisControlStore implements ControlStore {
  readonly prefix: string;
  readonly #client: Client;
  readonly #options: Required<Omit<RedisControlStoreOptions, 'snapshotFile' | 'prefix'>> & { snapshotFile: string | undefined };
  readonly #keys: { rev: string; epoch: string; log: string; pools: string; heartbeat: string };
  #context: StoreContext | undefined;
  #listener: StoreListener | undefined;
  #logger: SafeLogger | undefined;
  #tail: Client | undefined;
  #mirror: Mirror = new Map();
  #order = new Map<string, string[]>();
  #epoch = '';
  #streamId = '0-0';
  /** The revision this instance has applied without a gap. */
  #revision = 0;
  #storeRevision = 0;
  #joined = false;
  #joinedOnce = false;
  /** Resolves open(): set until the first join or the open timeout. */
  #answer: ((state: StateSnapshot) => void) | undefined;
  #joining: Promise<void> | undefined;
  #rejoin: 'if-empty' | 'restore' | undefined;
  #generation = 0;
  #closed = false;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #snapshotTimer: NodeJS.Timeout | undefined;
  #fleet: InstanceInfo[] = [];
  #healthListeners = new Set<(report: HealthReport) => void>();
  #leaders: HealthLeader[] = [];
  #onReady = (): void => this.#requestJoin('if-empty');
  #onClose = (): void => {
    this.#setJoined(false);
    // refused at start: serve our own state now rather than at the open timeout
    this.#answerOpen();
  };

  constructor(client: Client, options: RedisControlStoreOptions = {}) {
    this.#client = client;
    this.prefix = options.prefix ?? 'switchyard:';
    const tag = `{${this.prefix.replace(/[{}]/g, '')}}`;
    this.#keys = { rev: `${tag}rev`, epoch: `${tag}epoch`, log: `${tag}log`, pools: `${tag}pools`, heartbeat: `${tag}instances` };
    this.#options = {
      openTimeoutMs: options.openTimeoutMs ?? 1000,
      commitTimeoutMs: options.commitTimeoutMs ?? 2000,
      heartbeatMs: options.heartbeatMs ?? 1000,
      maxLogLength: options.maxLogLength ?? 10_000,
      snapshotFile: options.snapshotFile,
    };
  }

  /** Is Redis reachable and this instance's state in step with it? */
  get available(): boolean {
    return this.#joined && this.#client.status === READY;
  }

  /** The revision this instance has applied. */
  get revision(): number {
    return this.#revision;
  }

  open(context: StoreContext): Promise<StateSnapshot> {
    this.#context = context;
    this.#listener = context.listener;
    this.#logger = context.logger;
    const local = context.seedMode === 'if-empty' && this.#options.snapshotFile ? readSnapshotFile(this.#options.snapshotFile) : null;
    // pools the file does not know (newly configured) come from the configuration
    const start: StateSnapshot = local ? { revision: local.revision, pools: { ...context.seed.pools, ...pick(local.pools, Object.keys(context.seed.pools)) } } : context.seed;
    this.#mirror = mirrorOf(start);
    this.#revision = start.revision;
    for (const [pool, records] of this.#mirror) this.#order.set(pool, [...records.keys()]);
    this.#client.on('ready', this.#onReady);
    this.#client.on('close', this.#onClose);
    this.#heartbeatTimer = setInterval(() => void this.#heartbeat(), this.#options.heartbeatMs);
    this.#heartbeatTimer.unref();
    return new Promise<StateSnapshot>((resolve) => {
      this.#answer = resolve;
      const timer = setTimeout(() => this.#answerOpen(), this.#options.openTimeoutMs);
      timer.unref();
      void this.#join(context.seedMode).catch(() => {});
    });
  }

  /** Answer open() once: with the store's state if it came in time, else with ours (seed or snapshot file). */
  #answerOpen(): boolean {
    const answer = this.#answer;
    if (!answer) return false;
    this.#answer = undefined;
    answer(snapshotOf(this.#mirror, this.#revision));
    return true;
  }

  commit(write: Write): Promise<Commit> {
    if (!this.available) return Promise.reject(unavailable());
    const args: string[] = [String(this.#options.maxLogLength), commitPrefix(write), String(write.writes.length)];
    for (const { id, expectRev, after } of write.writes) {
      args.push(id, expectRev === null ? '' : String(expectRev), after === null ? '' : recordPrefix({ ...after, id }));
    }
    const keys = [this.#poolKey(write.pool), this.#keys.rev, this.#keys.log, this.#keys.pools];
    const answer = this.#client.eval(COMMIT, keys.length, ...keys, ...args) as Promise<[string, string | number, string]>;
    return withTimeout(answer, this.#options.commitTimeoutMs).then(([status, second, third]) => {
      if (status === 'CONFLICT') {
        const current = third === '' ? null : JSON.parse(third) as ServerRecord;
        throw new ControlError(`server "${String(second)}" in pool "${write.pool}" was changed meanwhile${current ? ` (now at revision ${current.rev})` : ' (it is gone)'}; nothing was changed`, { code: 'CONFLICT', current });
      }
      const commit = parseCommit(third);
      if (!commit) throw new ControlError('the control store answered a malformed commit', { code: 'STORE_UNAVAILABLE' });
      applyToMirror(this.#mirror, commit);
      this.#saveSnapshot();
      return commit;
    }, (error: unknown) => {
      throw error instanceof ControlError ? error : unavailable(error);
    });
  }

  reportDrain(report: DrainReport): void {
    this.#publish('drain', report);
  }

  /** Publish a pool's health-check results (the pool's check leader does). */
  publishHealth(report: HealthReport): void {
    this.#publish('health', report);
  }

  /** Results that other instances published; answers a function that stops listening. */
  onHealth(listener: (report: HealthReport) => void): () => void {
    this.#healthListeners.add(listener);
    return () => this.#healthListeners.delete(listener);
  }

  /** The health-check leadership of one pool (closed with the store). */
  healthLeader(pool: string, instanceId: string, intervalMs: number, servers: () => readonly Server[]): HealthLeader {
    const leader = new HealthLeader(this, pool, instanceId, intervalMs, servers);
    this.#leaders.push(leader);
    return leader;
  }

  /** The client, for leases (health-check leaders) on the same Redis. */
  get client(): Client {
    return this.#client;
  }

  /** A key under this store's hash tag. */
  key(name: string): string {
    return `{${this.prefix.replace(/[{}]/g, '')}}${name}`;
  }

  instances(): readonly InstanceInfo[] {
    const now = Date.now();
    const live = this.#options.heartbeatMs * 3;
    const self = this.#context?.instanceId ?? '';
    const others = this.#fleet.filter((instance) => !instance.self && now - instance.lastSeen <= live);
    const newest = Math.max(this.#storeRevision, this.#revision, ...others.map((instance) => instance.revision));
    const mine: InstanceInfo = { id: self, revision: this.#revision, lag: Math.max(0, newest - this.#revision), lastSeen: now, self: true };
    return [mine, ...others.map((instance) => ({ ...instance, lag: Math.max(0, newest - instance.revision) }))].sort((a, b) => a.id.localeCompare(b.id));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#generation++;
    clearInterval(this.#heartbeatTimer);
    this.#client.off('ready', this.#onReady);
    this.#client.off('close', this.#onClose);
    await Promise.all(this.#leaders.map((leader) => leader.close()));
    if (this.#client.status === READY && this.#context) {
      await withTimeout(this.#client.eval(LEAVE, 1, this.#keys.heartbeat, this.#context.instanceId), 500).catch(() => {});
    }
    this.#tail?.disconnect();
    if (this.#snapshotTimer) {
      clearTimeout(this.#snapshotTimer);
      await this.#writeSnapshot();
    }
    this.#joined = false;
  }

  #poolKey(pool: string): string {
    return this.key(`pool:${pool}`);
  }

  #requestJoin(mode: 'if-empty' | 'restore'): void {
    if (this.#closed) return;
    if (this.#joining) {
      this.#rejoin = mode === 'restore' || this.#rejoin === 'restore' ? 'restore' : 'if-empty';
      return;
    }
    void this.#join(mode).catch(() => {});
  }

  /** Seed (or restore) from our state, read the whole state atomically with the stream's position, apply it, tail from there. */
  #join(mode: 'if-empty' | 'replace' | 'restore'): Promise<void> {
    if (this.#joining) return this.#joining;
    this.#generation++;
    this.#joining = this.#doJoin(mode).finally(() => {
      this.#joining = undefined;
      const again = this.#rejoin;
      this.#rejoin = undefined;
      if (again && !this.#closed) this.#requestJoin(again);
    });
    return this.#joining;
  }

  async #doJoin(requested: 'if-empty' | 'replace' | 'restore'): Promise<void> {
    const context = this.#context!;
    // a replace asked for at start still happens when Redis comes only later
    const mode = !this.#joinedOnce && context.seedMode === 'replace' ? 'replace' : requested;
    if (this.#client.status === 'wait') await this.#client.connect().catch(() => {});
    if (this.#client.status !== READY) throw unavailable();
    const pools = Object.keys(context.seed.pools);
    const keys = [this.#keys.rev, this.#keys.epoch, this.#keys.log, this.#keys.pools, ...pools.map((pool) => this.#poolKey(pool))];
    const seedFrom = mode === 'replace' ? mirrorOf(context.seed) : this.#mirror;
    const args: string[] = [mode, randomBytes(8).toString('hex'), String(this.#revision), String(this.#options.maxLogLength)];
    for (const pool of pools) {
      const records = [...(seedFrom.get(pool)?.values() ?? [])];
      args.push(String(records.length));
      for (const record of records) args.push(record.id, recordPrefix(record), String(record.rev));
    }
    const [, wrote] = await withTimeout(this.#client.eval(SEED, keys.length, ...keys, ...args) as Promise<[string, number]>, this.#options.commitTimeoutMs);
    if (wrote === 1) this.#logger?.info('control state written to Redis', { mode, revision: this.#revision });
    const reply = await withTimeout(this.#client.eval(SNAPSHOT, keys.length, ...keys) as Promise<Array<string | string[] | null>>, this.#options.commitTimeoutMs);
    if (this.#closed) return;
    const [revision, epoch, streamId] = reply as [string, string, string];
    const state: Record<string, ServerRecord[]> = {};
    pools.forEach((pool, i) => {
      const flat = reply[3 + i];
      if (Array.isArray(flat)) state[pool] = parsePool(flat, this.#order.get(pool) ?? []);
    });
    const snapshot: StateSnapshot = { revision: Number(revision), pools: state };
    this.#epoch = epoch;
    this.#streamId = streamId;
    this.#storeRevision = snapshot.revision;
    this.#resync(snapshot);
    this.#joinedOnce = true;
    this.#setJoined(true);
    this.#startTail();
    void this.#heartbeat();
  }

  #resync(snapshot: StateSnapshot): void {
    for (const [pool, records] of Object.entries(snapshot.pools)) {
      this.#mirror.set(pool, new Map(records.map((record) => [record.id, record])));
      this.#order.set(pool, records.map((record) => record.id));
    }
    this.#revision = snapshot.revision;
    this.#saveSnapshot();
    if (!this.#answerOpen()) this.#guarded(() => this.#listener?.resynced(snapshotOf(this.#mirror, this.#revision)));
  }

  #setJoined(joined: boolean): void {
    const before = this.available;
    this.#joined = joined;
    if (before !== this.available) this.#guarded(() => this.#listener?.availability?.(this.available));
  }

  #startTail(): void {
    if (this.#tail) return;
    const client = this.#client;
    const duplicateClient = client.duplicate.bind(client) as (options?: object) => Client;
    const tail: Client = client.isCluster ? duplicateClient() : duplicateClient({ enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: false });
    tail.on('error', () => {}); // the main client's state drives availability; this one just retries
    this.#tail = tail;
    void this.#tailLoop(tail);
  }

  async #tailLoop(tail: Client): Promise<void> {
    while (!this.#closed) {
      if (!this.#joined) {
        await sleep(100);
        continue;
      }
      const generation = this.#generation;
      let reply: unknown;
      try {
        reply = await tail.xread('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', this.#keys.log, this.#streamId);
      } catch {
        if (this.#closed) return;
        await sleep(200);
        continue;
      }
      // a join happened meanwhile: it reread everything and moved the position
      if (generation !== this.#generation || this.#closed || !reply) continue;
      for (const [id, fields] of entriesOf(reply)) {
        this.#streamId = id;
        if (!this.#entry(fieldOf(fields, 't'), fieldOf(fields, 'd'))) break;
      }
    }
  }

  /** Apply one stream entry; false when it calls for a full resync (and has asked for one). */
  #entry(type: string | undefined, data: string | undefined): boolean {
    if (data === undefined) return true;
    switch (type) {
      case 'commit': {
        const commit = parseCommit(data);
        if (!commit || commit.revision <= this.#revision) return true;
        if (commit.revision !== this.#revision + 1) {
          this.#logger?.warn('control change log has a gap (trimmed past this instance); reading the whole state', { from: this.#revision, to: commit.revision });
          this.#setJoined(false);
          this.#requestJoin('if-empty');
          return false;
        }
        this.#revision = commit.revision;
        this.#storeRevision = Math.max(this.#storeRevision, commit.revision);
        applyToMirror(this.#mirror, commit);
        this.#saveSnapshot();
        this.#guarded(() => this.#listener?.committed(commit));
        return true;
      }
      case 'reset':
        // another instance seeded, replaced or restored the state: records may differ from ours
        this.#requestJoin('if-empty');
        return false;
      case 'drain': {
        const report = safeParse(data) as DrainReport | undefined;
        if (report && report.instance !== this.#context?.instanceId) this.#guarded(() => this.#listener?.drainReported?.(report));
        return true;
      }
      case 'health': {
        const report = safeParse(data) as HealthReport | undefined;
        if (report && report.instance !== this.#context?.instanceId) for (const listener of this.#healthListeners) this.#guarded(() => listener(report));
        return true;
      }
      default:
        return true;
    }
  }

  async #heartbeat(): Promise<void> {
    const context = this.#context;
    if (this.#closed || !context) return;
    if (this.#client.status !== READY) {
      this.#setJoined(false);
      return;
    }
    if (!this.#joined) {
      this.#requestJoin('if-empty');
      return;
    }
    try {
      const keys = [this.#keys.heartbeat, this.#keys.rev, this.#keys.epoch];
      const forgetMs = String(this.#options.heartbeatMs * 30);
      // what we had applied when asking: the tail may apply newer commits while the answer travels
      const applied = this.#revision;
      const [now, revision, epoch, flat] = await withTimeout(this.#client.eval(HEARTBEAT, keys.length, ...keys, context.instanceId, String(applied), forgetMs) as Promise<[number, string, string, string[]]>, this.#options.commitTimeoutMs);
      const local = Date.now();
      const fleet: InstanceInfo[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const [rev, at] = (flat[i + 1] ?? '').split(':');
        fleet.push({ id: flat[i]!, revision: Number(rev), lag: 0, lastSeen: local - (now - Number(at)), self: flat[i] === context.instanceId });
      }
      this.#fleet = fleet;
      this.#storeRevision = Number(revision);
      if (this.#joining) return;
      if (epoch !== this.#epoch) {
        this.#logger?.warn('control store was emptied or replaced; writing back this instance\'s state', { epoch });
        this.#setJoined(false);
        this.#requestJoin('if-empty');
      } else if (this.#storeRevision < applied) {
        this.#logger?.warn('control store revision went backwards (writes lost in a failover?); restoring', { store: this.#storeRevision, applied });
        this.#setJoined(false);
        this.#requestJoin('restore');
      }
    } catch {
      // the next beat tries again; availability follows the client's own state
    }
  }

  #publish(type: 'drain' | 'health', data: unknown): void {
    if (!this.available) return;
    this.#client.eval(PUBLISH, 1, this.#keys.log, String(this.#options.maxLogLength), type, JSON.stringify(data)).catch((error: unknown) => {
      this.#logger?.warn(`could not publish a ${type} report`, { error: String(error) });
    });
  }

  #saveSnapshot(): void {
    if (!this.#options.snapshotFile || this.#snapshotTimer || this.#closed) return;
    this.#snapshotTimer = setTimeout(() => void this.#writeSnapshot(), 200);
    this.#snapshotTimer.unref();
  }

  async #writeSnapshot(): Promise<void> {
    this.#snapshotTimer = undefined;
    const file = this.#options.snapshotFile;
    if (!file) return;
    await writeSnapshotFile(file, snapshotOf(this.#mirror, this.#revision)).catch((error: unknown) => {
      this.#logger?.warn('could not write the control snapshot file', { file, error: String(error) });
    });
  }

  #guarded(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.#logger?.error('control listener failed', { error: String(error) });
    }
  }
}

function commitPrefix(write: Write): string {
  return JSON.stringify({ pool: write.pool, origin: write.origin, instance: write.instance, actor: write.actor, at: write.at }).slice(0, -1);
}

function unavailable(cause?: unknown): ControlError {
  return new ControlError(`the shared control store cannot be reached${cause ? ` (${String(cause)})` : ''}; nothing was changed`, { code: 'STORE_UNAVAILABLE' });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    }, (error: unknown) => {
      clearTimeout(timer);
      reject(error instanceof Error ? error : new Error(String(error)));
    });
  });
}

/** XREAD's entries of our one stream, whether the reply came as RESP2 arrays or a RESP3 map. */
function entriesOf(reply: unknown): Entry[] {
  if (Array.isArray(reply)) return ((reply[0] as [string, Entry[]] | undefined)?.[1]) ?? [];
  if (reply instanceof Map) return ([...reply.values()][0] as Entry[] | undefined) ?? [];
  if (typeof reply === 'object' && reply !== null) return (Object.values(reply)[0] as Entry[] | undefined) ?? [];
  return [];
}

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function safeParse(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

function pick<T>(record: Readonly<Record<string, T>>, keys: readonly string[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of keys) if (key in record) out[key] = record[key]!;
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

import type { Commit, StateSnapshot, Write } from './changes.js';
import { applyWrite } from './cas.js';
import type { ServerRecord } from './records.js';
import type { ControlStore, StoreContext } from './store.js';

/**
 * Control state in this process only: the default. Commits apply synchronously, so a control
 * call has taken effect when it returns. With several instances, each keeps its own state; use
 * `RedisControlStore` to share it.
 */
export class MemoryControlStore implements ControlStore {
  #pools = new Map<string, Map<string, ServerRecord>>();
  #revision = 0;

  readonly available = true;

  open(context: StoreContext): StateSnapshot {
    if (this.#revision === 0 || context.seedMode === 'replace') {
      this.#pools = new Map(Object.entries(context.seed.pools).map(([pool, records]) => [pool, new Map(records.map((record) => [record.id, record]))]));
    }
    return this.#snapshot();
  }

  commit(write: Write): Commit {
    let records = this.#pools.get(write.pool);
    if (!records) this.#pools.set(write.pool, (records = new Map()));
    const commit = applyWrite(records, write, this.#revision + 1);
    this.#revision = commit.revision;
    return commit;
  }

  async close(): Promise<void> {}

  #snapshot(): StateSnapshot {
    const pools: Record<string, ServerRecord[]> = {};
    for (const [pool, records] of this.#pools) pools[pool] = [...records.values()];
    return { revision: this.#revision, pools };
  }
}

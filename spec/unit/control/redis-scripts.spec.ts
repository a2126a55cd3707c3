import { expect } from 'chai';
import { Redis } from 'ioredis';
import { COMMIT, SEED, SNAPSHOT } from '../../../middleware/control/redis-scripts.js';
import { parseCommit, recordPrefix } from '../../../middleware/control/redis-state.js';
import type { ServerRecord } from '../../../middleware/index.js';
import { requireTool } from '../../support/ci-guard.js';
import { RedisServer } from '../../support/redis-server.js';

const K = { pool: '{u}pool:api', rev: '{u}rev', log: '{u}log', pools: '{u}pools', epoch: '{u}epoch' };

function record(id: string, weight = 1): Omit<ServerRecord, 'rev'> {
  return { id, url: `http://127.0.0.1:1/${id}`, weight, backup: false, labels: {}, admin: 'active', drain: null };
}

describe('control store Lua: compare-and-set commits and seeding (real redis-server)', () => {
  let server: RedisServer;
  let redis: Redis;

  before(async function () {
    requireTool(this, 'redis-server');
    server = await RedisServer.start();
    redis = new Redis(server.url);
  });
  after(async () => {
    redis?.disconnect();
    await server?.kill();
  });
  beforeEach(() => redis.flushall());

  function commit(writes: Array<[id: string, expectRev: number | null, after: Omit<ServerRecord, 'rev'> | null]>, maxlen = 1000): Promise<[string, string | number, string]> {
    const args = [String(maxlen), JSON.stringify({ pool: 'api', origin: 'local', instance: 'x', at: 1 }).slice(0, -1), String(writes.length)];
    for (const [id, expectRev, after] of writes) args.push(id, expectRev === null ? '' : String(expectRev), after === null ? '' : recordPrefix(after));
    return redis.eval(COMMIT, 4, K.pool, K.rev, K.log, K.pools, ...args) as Promise<[string, string | number, string]>;
  }

  it('creates a record at the next revision and logs the commit with before and after', async () => {
    const [status, revision, json] = await commit([['a', null, record('a', 3)]]);
    expect(status).to.equal('OK');
    expect(revision).to.equal(1);
    const parsed = parseCommit(json)!;
    expect(parsed.revision).to.equal(1);
    expect(parsed.changes).to.deep.equal([{ id: 'a', before: null, after: { ...record('a', 3), rev: 1 } }]);
    expect(JSON.parse((await redis.hget(K.pool, 'a'))!)).to.deep.equal({ ...record('a', 3), rev: 1 });
    const log = await redis.xrange(K.log, '-', '+');
    expect(log).to.have.length(1);
    expect(log[0]![1]).to.deep.equal(['t', 'commit', 'd', json]);
  });

  it('rejects a stale rev with the current record, and changes nothing', async () => {
    await commit([['a', null, record('a')]]);
    await commit([['a', 1, record('a', 5)]]);
    const [status, id, current] = await commit([['a', 1, record('a', 9)]]);
    expect(status).to.equal('CONFLICT');
    expect(id).to.equal('a');
    expect(JSON.parse(current)).to.deep.equal({ ...record('a', 5), rev: 2 });
    expect(await redis.get(K.rev)).to.equal('2');
    expect(await redis.xlen(K.log)).to.equal(2);
  });

  it('rejects a create of an existing record and an update of a missing one', async () => {
    await commit([['a', null, record('a')]]);
    expect((await commit([['a', null, record('a')]]))[0]).to.equal('CONFLICT');
    const [status, , current] = await commit([['b', 4, record('b')]]);
    expect(status).to.equal('CONFLICT');
    expect(current).to.equal('');
  });

  it('applies a batch all or nothing', async () => {
    await commit([['a', null, record('a')], ['b', null, record('b')]]);
    const [status] = await commit([['a', 1, record('a', 7)], ['b', 0, record('b', 7)]]);
    expect(status).to.equal('CONFLICT');
    expect(JSON.parse((await redis.hget(K.pool, 'a'))!).weight, 'first write not applied').to.equal(1);
    const [ok, revision, json] = await commit([['a', 1, record('a', 7)], ['b', 1, null]]);
    expect(ok).to.equal('OK');
    expect(revision).to.equal(2);
    expect(await redis.hexists(K.pool, 'b')).to.equal(0);
    expect(parseCommit(json)!.changes.map((change) => [change.id, change.after?.rev ?? null])).to.deep.equal([['a', 2], ['b', null]]);
  });

  it('trims the log to about MAXLEN', async () => {
    await commit([['a', null, record('a')]]);
    for (let rev = 1; rev <= 300; rev++) await commit([['a', rev, record('a', (rev % 200) + 1)]], 50);
    const length = await redis.xlen(K.log);
    expect(length).to.be.below(200);
    expect(length).to.be.at.least(50);
  });

  function seed(mode: string, ourRevision: number, records: ServerRecord[]): Promise<[string, number]> {
    const args = [mode, 'epoch-new', String(ourRevision), '1000', String(records.length)];
    for (const r of records) args.push(r.id, recordPrefix(r), String(r.rev));
    return redis.eval(SEED, 5, K.rev, K.epoch, K.log, K.pools, K.pool, ...args) as Promise<[string, number]>;
  }

  it('seeds an empty store at our revision, keeps an existing one with if-empty, rewrites it with replace', async () => {
    expect(await seed('if-empty', 12, [{ ...record('a', 4), rev: 12 }])).to.deep.equal(['epoch-new', 1]);
    expect(await redis.get(K.rev)).to.equal('12');
    expect(JSON.parse((await redis.hget(K.pool, 'a'))!).rev).to.equal(12);
    expect(await seed('if-empty', 0, [{ ...record('a', 1), rev: 0 }])).to.deep.equal(['epoch-new', 0]);
    expect(JSON.parse((await redis.hget(K.pool, 'a'))!).weight).to.equal(4);
    await seed('replace', 0, [{ ...record('z', 2), rev: 0 }]);
    expect(await redis.hkeys(K.pool)).to.deep.equal(['z']);
    expect(JSON.parse((await redis.hget(K.pool, 'z'))!).rev, 'replace is a new revision').to.equal(13);
    const types = (await redis.xrange(K.log, '-', '+')).map((entry) => entry[1][1]);
    expect(types).to.deep.equal(['reset', 'reset']);
  });

  it('restores records newer than the store\'s and moves the revision up to ours', async () => {
    await seed('if-empty', 5, [{ ...record('a'), rev: 3 }, { ...record('b'), rev: 5 }]);
    await redis.set(K.rev, '5');
    await seed('restore', 9, [{ ...record('a', 8), rev: 9 }, { ...record('b', 8), rev: 4 }, { ...record('c'), rev: 7 }]);
    expect(JSON.parse((await redis.hget(K.pool, 'a'))!).weight).to.equal(8);
    expect(JSON.parse((await redis.hget(K.pool, 'b'))!).weight, 'the store\'s newer record stays').to.equal(1);
    expect(await redis.hexists(K.pool, 'c')).to.equal(1);
    expect(await redis.get(K.rev)).to.equal('9');
  });

  it('reads revision, epoch, the stream position and the pool in one step', async () => {
    await seed('if-empty', 0, [{ ...record('a'), rev: 0 }]);
    await commit([['a', 0, record('a', 2)]]);
    const [revision, epoch, lastId, flat] = await redis.eval(SNAPSHOT, 5, K.rev, K.epoch, K.log, K.pools, K.pool) as [string, string, string, string[]];
    expect(revision).to.equal('1');
    expect(epoch).to.equal('epoch-new');
    const entries = await redis.xrange(K.log, '-', '+');
    expect(lastId).to.equal(entries.at(-1)![0]);
    expect(flat[0]).to.equal('a');
  });
});

/**
 * Lua for RedisControlStore. Every script touches keys of one hash tag only, so it runs on a
 * Redis Cluster too. Records are stored as the JSON the balancer wrote, minus its closing brace
 * and `rev`: the scripts append `,"rev":N}`, so no record is ever re-encoded by cjson (which
 * would reorder keys and round numbers).
 *
 * Stream entries have two fields: `t` (commit | reset | drain | health) and `d` (JSON).
 */

/**
 * Compare-and-set commit of one pool, all or nothing.
 * KEYS: pool hash, revision counter, stream, pools set.
 * ARGV: maxlen, commit JSON prefix (`{"pool":…,"at":N`), n, then n × (id, expectRev or '', record prefix or '').
 * Answers {'OK', revision, commitJson} or {'CONFLICT', id, currentRecordJson or ''}.
 */
export const COMMIT = `
local n = tonumber(ARGV[3])
for i = 0, n - 1 do
  local id = ARGV[4 + i * 3]
  local expect = ARGV[5 + i * 3]
  local current = redis.call('HGET', KEYS[1], id)
  if current == false then
    if expect ~= '' then return {'CONFLICT', id, ''} end
  else
    local rev = cjson.decode(current).rev
    if expect == '' or tonumber(expect) ~= rev then return {'CONFLICT', id, current} end
  end
end
local revision = redis.call('INCR', KEYS[2])
local changes = {}
for i = 0, n - 1 do
  local id = ARGV[4 + i * 3]
  local prefix = ARGV[6 + i * 3]
  local before = redis.call('HGET', KEYS[1], id)
  if before == false then before = 'null' end
  local after = 'null'
  if prefix == '' then
    redis.call('HDEL', KEYS[1], id)
  else
    after = prefix .. ',"rev":' .. revision .. '}'
    redis.call('HSET', KEYS[1], id, after)
  end
  changes[#changes + 1] = '{"id":' .. cjson.encode(id) .. ',"before":' .. before .. ',"after":' .. after .. '}'
end
redis.call('SADD', KEYS[4], KEYS[1])
local commit = ARGV[2] .. ',"revision":' .. revision .. ',"changes":[' .. table.concat(changes, ',') .. ']}'
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[1], '*', 't', 'commit', 'd', commit)
return {'OK', revision, commit}`;

/**
 * Seed, replace or restore the state.
 * KEYS: revision counter, epoch, stream, pools set, then one hash per pool.
 * ARGV: mode (if-empty | replace | restore), candidate epoch, our revision, maxlen,
 *       then per pool (in KEYS order): count, count × (id, record prefix, rev).
 * - No epoch (an empty or flushed Redis): write everything as given, revision = ours. Any mode.
 * - if-empty: only pools the store has never seen.
 * - replace: every given pool is rewritten, at a new revision.
 * - restore (the revision went backwards, as after a failover that lost writes): records we hold
 *   at a newer rev than the store's are written back, and the counter moves up to ours.
 * Answers {epoch, wrote (0/1)}; a write is announced by a `reset` entry, so others resync.
 */
export const SEED = `
local mode = ARGV[1]
local epoch = redis.call('GET', KEYS[2])
local fresh = epoch == false
if fresh then
  epoch = ARGV[2]
  redis.call('SET', KEYS[2], epoch)
  local current = tonumber(redis.call('GET', KEYS[1]) or '0')
  redis.call('SET', KEYS[1], math.max(current, tonumber(ARGV[3])))
end
local storeRev = tonumber(redis.call('GET', KEYS[1]) or '0')
local revision = storeRev
if mode == 'replace' and not fresh then revision = redis.call('INCR', KEYS[1]) end
local wrote = 0
local at = 5
for k = 5, #KEYS do
  local key = KEYS[k]
  local count = tonumber(ARGV[at])
  at = at + 1
  local known = redis.call('SISMEMBER', KEYS[4], key) == 1
  local whole = fresh or mode == 'replace' or (mode ~= 'restore' and not known)
  if whole then
    redis.call('DEL', key)
    redis.call('SADD', KEYS[4], key)
    wrote = 1
  end
  for i = 0, count - 1 do
    local id = ARGV[at + i * 3]
    local prefix = ARGV[at + 1 + i * 3]
    local rev = tonumber(ARGV[at + 2 + i * 3])
    if mode == 'replace' and not fresh then rev = revision end
    if whole then
      redis.call('HSET', key, id, prefix .. ',"rev":' .. rev .. '}')
    elseif mode == 'restore' then
      local current = redis.call('HGET', key, id)
      if (current == false and rev > storeRev) or (current ~= false and cjson.decode(current).rev < rev) then
        redis.call('HSET', key, id, prefix .. ',"rev":' .. rev .. '}')
        wrote = 1
      end
    end
  end
  at = at + count * 3
end
if mode == 'restore' and tonumber(ARGV[3]) > storeRev then
  redis.call('SET', KEYS[1], ARGV[3])
  wrote = 1
end
if wrote == 1 then
  local rev = redis.call('GET', KEYS[1]) or '0'
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 't', 'reset', 'd', '{"revision":' .. rev .. '}')
end
return {epoch, wrote}`;

/**
 * One consistent read: revision, epoch, the stream's last id (tail from there, nothing missed),
 * and each pool's hash (nil for a pool the store has never seen).
 * KEYS: revision counter, epoch, stream, pools set, then one hash per pool.
 */
export const SNAPSHOT = `
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local lastId = '0-0'
if #last > 0 then lastId = last[1][1] end
local out = {redis.call('GET', KEYS[1]) or '0', redis.call('GET', KEYS[2]) or '', lastId}
for k = 5, #KEYS do
  if redis.call('SISMEMBER', KEYS[4], KEYS[k]) == 1 then
    out[#out + 1] = redis.call('HGETALL', KEYS[k])
  else
    out[#out + 1] = false
  end
end
return out`;

/**
 * Heartbeat: write ours (by Redis's clock, so hosts' clocks never matter), forget instances
 * silent for `forgetMs`, answer the others.
 * KEYS: heartbeat hash, revision counter, epoch. ARGV: instance id, applied revision, forgetMs.
 * Answers {now ms, revision, epoch, hgetall}.
 */
export const HEARTBEAT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. now)
local all = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #all, 2 do
  local seen = tonumber(string.match(all[i + 1], ':(%d+)$') or '0')
  if now - seen > tonumber(ARGV[3]) then
    redis.call('HDEL', KEYS[1], all[i])
  else
    live[#live + 1] = all[i]
    live[#live + 1] = all[i + 1]
  end
end
return {now, redis.call('GET', KEYS[2]) or '0', redis.call('GET', KEYS[3]) or '', live}`;

/** Append a drain report or health result. KEYS: stream. ARGV: maxlen, type, JSON. */
export const PUBLISH = `
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 't', ARGV[2], 'd', ARGV[3])`;

/** Leave the fleet at close. KEYS: heartbeat hash. ARGV: instance id. */
export const LEAVE = `return redis.call('HDEL', KEYS[1], ARGV[1])`;

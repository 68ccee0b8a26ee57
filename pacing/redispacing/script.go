package redispacing

import "github.com/redis/go-redis/v9"

// The state of a quota key is one Redis hash:
//
//	b   the base: Unix seconds that the other times count from
//	r   the theoretical arrival time of the next request, ns after b
//	t   the same for the next token
//	c   the end of the cooldown, ns after b (≤ now: none)
//	fr  the found requests-per-minute limit (absent: none)
//	ft  the found tokens-per-minute limit (absent: none)
//
// Times are nanoseconds counted from a base of whole seconds, kept in Lua's
// numbers (doubles): integers stay exact below 2^53 ns (104 days), and the
// base moves up whenever now passes 10^15 ns (11.6 days) after it, so they
// always do. They are written with %.0f, since Lua's tostring keeps only 14
// digits. The key expires idle TTL after its last reservation, cooldown or
// change, so abandoned state goes away.
//
// Every script starts with the same prologue: it reads the time (the
// caller's, when ARGV[1] is set: a test's fake clock; else Redis's TIME, so
// that every host reads one clock whatever its own says) and the state,
// and defines the helpers. TIME before writes is allowed because Redis
// replicates a script's effects, not the script (the default since Redis
// 5, the only mode since 7); replicate_commands makes Redis 3.2–4 do the
// same.
const prologue = `
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local s, ns
if ARGV[1] ~= '' then
  s, ns = tonumber(ARGV[1]), tonumber(ARGV[2])
else
  local tm = redis.call('TIME')
  s, ns = tonumber(tm[1]), tonumber(tm[2]) * 1000
end
local idle = tonumber(ARGV[3])
local st = redis.call('HMGET', key, 'b', 'r', 't', 'c', 'fr', 'ft')
local base = tonumber(st[1]) or s
local r = tonumber(st[2]) or 0
local t = tonumber(st[3]) or 0
local c = tonumber(st[4]) or 0
local fr = tonumber(st[5]) or 0
local ft = tonumber(st[6]) or 0
local now = (s - base) * 1e9 + ns
if now > 1e15 then
  local shift = (s - base) * 1e9
  base, r, t, c, now = s, r - shift, t - shift, c - shift, ns
end
local CAP = 4503599627370496 -- 2^52 ns: no charge is longer

-- every returns the emission interval, in ns, of a per-minute limit under
-- a found one (0: no limit), rounded up so that pacing never exceeds it.
local function every(limit, found)
  local l = limit
  if found > 0 and (l <= 0 or found < l) then l = found end
  if l <= 0 then return 0 end
  return math.ceil(60e9 / l)
end

-- adjust moves a theoretical arrival time by n units of ev ns; a refund
-- never takes it below now, so that no capacity is banked.
local function adjust(tat, n, ev)
  if n == 0 or ev == 0 then return tat end
  if n > 0 then return math.max(tat, now) + math.min(n * ev, CAP) end
  if tat <= now then return tat end
  return math.max(tat + n * ev, now)
end

local function save()
  redis.call('HSET', key, 'b', string.format('%.0f', base), 'r', string.format('%.0f', r),
    't', string.format('%.0f', t), 'c', string.format('%.0f', c))
  local ttl = math.ceil((math.max(r, t, c) - now) / 1e6)
  redis.call('PEXPIRE', key, math.max(ttl, 0) + idle)
end
`

// admitScript applies a pending adjustment (ARGV 8–11: its limits, requests
// and tokens) and then decides one admission (ARGV 4–7: limits, cost, ahead
// in ns). It returns {admitted, wait ns, reason, found rpm, found tpm};
// reasons are pacing.Reason values.
var admitScript = redis.NewScript(prologue + `
local rpm, tpm, cost, ahead = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local areq, atok = tonumber(ARGV[10]), tonumber(ARGV[11])
local changed = false
if areq ~= 0 or atok ~= 0 then
  local arpm, atpm = tonumber(ARGV[8]), tonumber(ARGV[9])
  r = adjust(r, areq, every(arpm, fr))
  t = adjust(t, atok, every(atpm, ft))
  changed = true
end
if c > now then
  if changed then save() end
  return {0, c - now, 3, fr, ft}
end
local evr, evt = every(rpm, fr), every(tpm, ft)
local at, reason = now, 0
if evr > 0 and r > at then at, reason = r, 1 end
if evt > 0 and t > at then at, reason = t, 2 end
local wait = at - now
if wait > ahead then
  if changed then save() end
  return {0, wait, reason, fr, ft}
end
if evr > 0 then r = at + evr end
if evt > 0 then t = at + math.min(cost * evt, CAP) end
if evr > 0 or evt > 0 or changed then save() end
return {1, wait, reason, fr, ft}
`)

// adjustScript applies an adjustment alone (ARGV 4–7: limits, requests,
// tokens). It returns nothing useful.
var adjustScript = redis.NewScript(prologue + `
local rpm, tpm, areq, atok = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
r = adjust(r, areq, every(rpm, fr))
t = adjust(t, atok, every(tpm, ft))
save()
return 1
`)

// coolScript sets a cooldown of ARGV[4] ns from now, unless a longer one
// is set.
var coolScript = redis.NewScript(prologue + `
local untl = now + tonumber(ARGV[4])
if untl > c then
  c = untl
  save()
end
return 1
`)

// foundScript records found limits (ARGV 4–5; 0 clears one).
var foundScript = redis.NewScript(prologue + `
local nfr, nft = tonumber(ARGV[4]), tonumber(ARGV[5])
if nfr > 0 then redis.call('HSET', key, 'fr', nfr) else redis.call('HDEL', key, 'fr') end
if nft > 0 then redis.call('HSET', key, 'ft', nft) else redis.call('HDEL', key, 'ft') end
save()
return 1
`)

// heartbeatScript records that worker ARGV[1] is alive (in the sorted set
// KEYS[1], scored by Redis's time in ms), forgets workers silent for
// ARGV[2] ms, and returns how many are left; with ARGV[4] = "leave" it
// removes the worker instead. The set expires ARGV[3] ms after the last
// heartbeat.
var heartbeatScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
if ARGV[4] == 'leave' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return redis.call('ZCARD', KEYS[1])
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return redis.call('ZCARD', KEYS[1])
`)

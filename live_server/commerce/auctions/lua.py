"""The Redis book's Lua scripts: the bid rules of `rules.judge_bid`, word for word.

Each script runs atomically in Redis. `tests/unit/test_auction_rules_lua.py` feeds the
same bids to `rules.judge_bid` and to `BID_SCRIPT` and compares every book, so the two
cannot drift apart unnoticed. Numbers are Lua doubles: every amount stays far below 2^53.
"""

from __future__ import annotations

from typing import Final

_CLOCK: Final = """
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

#: KEYS: book hash, log list, maxima hash. ARGV: bidder, kind, amount, name, channel.
#: Returns {1, record json} or {0, code, amount, bids so far, now ms}.
BID_SCRIPT: Final = (
    _CLOCK
    + """
local h = KEYS[1]
local f = redis.call('HGETALL', h)
local now = clock()
if #f == 0 then return {0, 'auction_ended', 0, 0, now} end
local b = {}
for i = 1, #f, 2 do b[f[i]] = f[i + 1] end
local function num(k) return tonumber(b[k]) or 0 end
local steps = {}
for bound, step in string.gmatch(b['increments'], '(%d+):(%d+)') do
  steps[#steps + 1] = {tonumber(bound), tonumber(step)}
end
local function inc(p)
  for _, s in ipairs(steps) do if p < s[1] then return s[2] end end
  return steps[#steps][2]
end
local bids = num('bids')
local ends = num('ends_at_ms')
if b['status'] ~= 'running' or now >= ends then return {0, 'auction_ended', 0, bids, now} end
local bidder, kind, amount = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
if kind ~= 'amount' and kind ~= 'max' then return {0, 'bad_kind', 0, bids, now} end
if amount > num('max_price') then return {0, 'bid_too_high', num('max_price'), bids, now} end
local price, leader, lmax, reserve = num('price'), num('leader'), num('leader_max'), num('reserve')
local old_price, old_leader = price, leader
local outcome
local function with_reserve()
  if reserve > 0 and price < reserve and reserve <= lmax then price = reserve end
end
if bidder == leader then
  if kind == 'amount' then return {0, 'already_leading', price, bids, now} end
  if amount <= lmax then return {0, 'max_not_higher', lmax, bids, now} end
  lmax = amount
  with_reserve()
  outcome = 'max_raised'
else
  local minimum = num('start_price')
  if bids > 0 then minimum = price + inc(price) end
  if amount < minimum then return {0, 'bid_too_low', minimum, bids, now} end
  local floor = minimum
  if kind == 'amount' then floor = amount end
  if leader == 0 then
    leader, lmax, price = bidder, amount, floor
    outcome = 'leading'
  elseif amount > lmax then
    local answer = math.min(amount, lmax + inc(lmax))
    leader, lmax, price = bidder, amount, math.max(floor, answer)
    outcome = 'leading'
  else
    local answer = math.min(lmax, amount + inc(amount))
    price = math.max(price, answer)
    outcome = 'outbid'
  end
  with_reserve()
end
local changed = (price ~= old_price) or (leader ~= old_leader)
local extended = false
if b['mode'] == 'extend' and changed and ends - now < num('window_ms') then
  local reset = now + num('reset_ms')
  if reset > ends then ends = reset; extended = true end
end
bids = bids + 1
local seq = num('seq') + 1
local leader_name = b['leader_name'] or ''
if leader ~= old_leader then leader_name = ARGV[4] end
redis.call('HSET', h, 'price', price, 'leader', leader, 'leader_max', lmax, 'bids', bids,
  'seq', seq, 'ends_at_ms', ends, 'leader_name', leader_name)
local best = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if amount > best then redis.call('HSET', KEYS[3], ARGV[1], amount) end
local rec = cjson.encode({
  auction_id = num('auction_id'), session_id = num('session_id'), seq = seq,
  bidder = bidder, bidder_name = ARGV[4], kind = kind, amount = amount, at_ms = now,
  outcome = outcome, price = price, leader = leader, leader_name = leader_name,
  leader_max = lmax, bids = bids, ends_at_ms = ends, extended = extended,
  lead_changed = changed, previous_leader = old_leader
})
redis.call('RPUSH', KEYS[2], rec)
if changed then redis.call('PUBLISH', ARGV[5], rec) end
return {1, rec}
"""
)

#: KEYS: book hash, running set. Closes a running book whose time is up: 1 to one caller.
CLOSE_SCRIPT: Final = (
    _CLOCK
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'running' then return 0 end
local ends = tonumber(redis.call('HGET', KEYS[1], 'ends_at_ms')) or 0
if clock() < ends then return 0 end
redis.call('HSET', KEYS[1], 'status', 'closed')
redis.call('SREM', KEYS[2], redis.call('HGET', KEYS[1], 'auction_id'))
return 1
"""
)

#: KEYS: book hash, running set. Cancels a running book without bids.
CANCEL_SCRIPT: Final = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
if (tonumber(redis.call('HGET', KEYS[1], 'bids')) or 0) > 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'result', 'cancelled')
redis.call('SREM', KEYS[2], redis.call('HGET', KEYS[1], 'auction_id'))
return 1
"""

#: KEYS: owner key. ARGV: node id, ttl ms. Claims a free lease or renews this node's own.
OWN_SCRIPT: Final = """
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS[1] the auction's last broadcast lead; ARGV[1] the lead's seq, ARGV[2] expiry (s).
# 1 when this seq is newer than every lead broadcast so far (it is now the last), else 0.
CLAIM_LEAD_SCRIPT: Final = """
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) <= last then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""

-- A GCRA token bucket shared by every worker of a CRM account, on Redis' clock.
-- KEYS[1] bucket key (holds the theoretical arrival time, ms, fractional); KEYS[2] the
-- account's pace: "<emission ms> <burst>" from HubSpot's own headers, when a worker saw
-- them state a lower limit than the declared one.
-- ARGV[1] declared emission interval (ms per request, fractional); ARGV[2] burst;
-- ARGV[3] mode: 'take' one request, or 'pause' for ARGV[4] ms (after a 429).
-- Answers 0 when a request may go now, else the whole ms to wait.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + tonumber(now[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local pace = redis.call('GET', KEYS[2])
if pace then
  local pe, pb = string.match(pace, '^(%S+) (%d+)$')
  pe = tonumber(pe)
  if pe and pe > interval then
    interval = pe
    burst = tonumber(pb)
  end
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now_ms then
  tat = now_ms
end
local allowance = interval * (burst - 1)
if ARGV[3] == 'pause' then
  -- Nothing may go before until_ms, and the bucket restarts empty then (no burst right
  -- after a 429): the theoretical arrival time moves past until_ms by the burst allowance.
  local until_ms = now_ms + tonumber(ARGV[4]) + allowance
  if until_ms > tat then
    tat = until_ms
  end
  redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now_ms) + 60000)
  return 0
end
if tat - now_ms > allowance then
  return math.max(1, math.ceil(tat - now_ms - allowance))
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.ceil(next_tat - now_ms) + 60000)
return 0

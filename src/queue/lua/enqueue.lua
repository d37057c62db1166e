-- Dedupe and enqueue one webhook delivery in a single atomic step.
-- KEYS[1] dedupe marker, KEYS[2] event stream (both share the pipeline's hash tag).
-- ARGV[1] marker TTL in seconds, ARGV[2] consumer group, ARGV[3..] stream field/value pairs.
-- Returns the new stream entry id, or false when the delivery was seen before.
-- The marker is written only after XADD succeeded: Redis does not roll a script back, so
-- writing it first could leave a marker without its event if XADD failed.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return false
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  -- A fresh (or flushed) Redis: recreate the group so workers never miss this entry.
  redis.call('XGROUP', 'CREATE', KEYS[2], ARGV[2], '0', 'MKSTREAM')
end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
redis.call('SET', KEYS[1], id, 'NX', 'EX', ARGV[1])
return id

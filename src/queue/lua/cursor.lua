-- A fenced cursor write: only the current lease holder may move a cursor, so a poller
-- that lost its lease (paused, partitioned) can never overwrite its successor's progress.
-- KEYS[1] lease, KEYS[2] cursor, KEYS[3] progress hash.
-- ARGV[1] the writer's lease value "<token>:<holder>", ARGV[2] cursor text,
-- ARGV[3..] progress field/value pairs (optional).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2])
if #ARGV > 2 then
  redis.call('HSET', KEYS[3], unpack(ARGV, 3))
end
return 1

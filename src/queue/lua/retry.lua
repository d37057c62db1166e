-- Schedule an entry for a delayed retry and acknowledge it, in one step.
-- KEYS[1] retry sorted set; KEYS[2] events stream; ARGV[1] due (ms); ARGV[2] member;
-- ARGV[3] group; ARGV[4] entry id.
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('XACK', KEYS[2], ARGV[3], ARGV[4])
redis.call('XDEL', KEYS[2], ARGV[4])
return 1

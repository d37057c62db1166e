-- Acknowledge entries and delete them from the stream, so the stream holds only work
-- not yet done and its length stays a meaningful lag.
-- KEYS[1] events stream; ARGV[1] group; ARGV[2..] entry ids.
local acked = 0
for i = 2, #ARGV do
  acked = acked + redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
  redis.call('XDEL', KEYS[1], ARGV[i])
end
return acked

-- Dead-letter an entry and acknowledge it, in one step.
-- KEYS[1] dead-letter stream; KEYS[2] events stream; ARGV[1] group; ARGV[2] entry id;
-- ARGV[3..] field/value pairs of the dead letter.
local fields = {}
for i = 3, #ARGV do
  table.insert(fields, ARGV[i])
end
redis.call('XADD', KEYS[1], '*', unpack(fields))
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[2], ARGV[2])
return 1

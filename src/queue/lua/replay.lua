-- Move dead letters back into the events stream as fresh first deliveries, atomically per
-- entry; ids already gone (replayed or purged meanwhile) are skipped.
-- KEYS[1] dead-letter stream; KEYS[2] events stream; ARGV[1] consumer group; ARGV[2..] ids.
-- The dead-letter bookkeeping fields (reason, attempts, last_error, source_id, dead_at) are
-- dropped; everything else is the original event.
local drop = { reason = true, attempts = true, last_error = true, source_id = true, dead_at = true }
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[2], ARGV[1], '0', 'MKSTREAM')
end
local moved = 0
for i = 2, #ARGV do
  local found = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
  if #found == 1 then
    local fields = found[1][2]
    local args = {}
    for j = 1, #fields, 2 do
      if not drop[fields[j]] then
        table.insert(args, fields[j])
        table.insert(args, fields[j + 1])
      end
    end
    redis.call('XADD', KEYS[2], '*', unpack(args))
    redis.call('XDEL', KEYS[1], ARGV[i])
    moved = moved + 1
  end
end
return moved

-- Move due retries back into the events stream (with their attempt count).
-- KEYS[1] retry sorted set; KEYS[2] events stream; ARGV[1] most to move.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  local item = cjson.decode(member)
  local args = {}
  for name, value in pairs(item.fields) do
    if name ~= 'attempts' then
      table.insert(args, name)
      table.insert(args, value)
    end
  end
  table.insert(args, 'attempts')
  table.insert(args, tostring(item.attempts))
  redis.call('XADD', KEYS[2], '*', unpack(args))
  redis.call('ZREM', KEYS[1], member)
end
return #due

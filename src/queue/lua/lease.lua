-- The poller lease of one pipeline, with a fencing token.
-- KEYS[1] lease (value "<token>:<holder>"), KEYS[2] fence counter.
-- ARGV[1] holder, ARGV[2] ttl in ms, ARGV[3] acquire|renew|release, ARGV[4] token (renew, release).
-- Returns the token, or false when another holder has the lease (or ours is gone).
local current = redis.call('GET', KEYS[1])
if ARGV[3] == 'acquire' then
  if current then
    local token, holder = string.match(current, '^(%d+):(.*)$')
    if holder == ARGV[1] then
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
      return tonumber(token)
    end
    return false
  end
  -- Every new holder gets a larger token, so a writer that lost the lease is refused.
  local token = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], token .. ':' .. ARGV[1], 'PX', ARGV[2])
  return token
end
if current ~= ARGV[4] .. ':' .. ARGV[1] then
  return false
end
if ARGV[3] == 'renew' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  redis.call('DEL', KEYS[1])
end
return tonumber(ARGV[4])

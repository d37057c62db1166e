-- Renew write locks taken by claim.lua, just before another CRM call on their behalf.
-- A lock is renewed when this token still holds it, or when it lapsed and nobody moved
-- the object on since (the watermark still holds this very version, open). Anything else
-- means another worker took the object over, perhaps with a newer version: the lease is
-- lost and the caller must send nothing more for it.
-- KEYS: pairs (watermark, lock) per object. ARGV[1] token, ARGV[2] lock ttl (ms), then
-- pairs (version ms, content digest) per object. Answers 1 (held) or 0 (lost) per object.
local out = {}
local token = ARGV[1]
local ttl = tonumber(ARGV[2])
for i = 1, #KEYS / 2 do
  local wm_key, lock_key = KEYS[2 * i - 1], KEYS[2 * i]
  local holder = redis.call('GET', lock_key)
  if holder == token then
    redis.call('PEXPIRE', lock_key, ttl)
    out[i] = 1
  elseif not holder
      and redis.call('GET', wm_key) == ARGV[2 * i + 1] .. ' ' .. ARGV[2 * i + 2] .. ' open' then
    redis.call('SET', lock_key, token, 'PX', ttl)
    out[i] = 1
  else
    out[i] = 0
  end
end
return out

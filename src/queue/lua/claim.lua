-- Claim objects for writing, one batch at a time, against their watermarks.
-- KEYS: pairs (watermark, lock) per object. ARGV[1] lock token, ARGV[2] lock ttl (ms),
-- then pairs (version ms, content digest) per object.
-- A watermark holds "<version> <digest>" of the newest write that reached the CRM.
-- Answers one code per object: 1 claimed (lock taken), 0 stale (an older version, or this
-- very content already written), 2 busy (another worker is writing the object now).
local out = {}
local token = ARGV[1]
local ttl = tonumber(ARGV[2])
for i = 1, #KEYS / 2 do
  local wm_key, lock_key = KEYS[2 * i - 1], KEYS[2 * i]
  local version = tonumber(ARGV[2 * i + 1])
  local digest = ARGV[2 * i + 2]
  local holder = redis.call('GET', lock_key)
  if holder and holder ~= token then
    out[i] = 2
  else
    local current = redis.call('GET', wm_key)
    local stale = false
    if current then
      local cv, cd = string.match(current, '^(%-?%d+) (.*)$')
      cv = tonumber(cv)
      if cv and (version < cv or (version == cv and digest == cd)) then
        stale = true
      end
    end
    if stale then
      out[i] = 0
    else
      redis.call('SET', lock_key, token, 'PX', ttl)
      out[i] = 1
    end
  end
end
return out

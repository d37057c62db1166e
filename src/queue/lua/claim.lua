-- Claim objects for writing, one batch at a time, against their watermarks.
-- KEYS: pairs (watermark, lock) per object. ARGV[1] lock token, ARGV[2] lock ttl (ms),
-- then pairs (version ms, content digest) per object.
-- A watermark holds "<version> <digest> <state>": the newest version a worker started to
-- write, and whether all of its writes are done ("done") or some may still be missing
-- ("open"). A watermark without a state (written before states existed) is done.
-- Claiming records the version as open at once, so from the moment any of its writes can
-- reach the CRM an older version is dropped, whatever happens to the rest of the event.
-- Answers one code per object: 1 claimed (lock taken), 0 stale (older than the watermark,
-- or this very content fully written), 2 busy (another worker is writing the object now).
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
    local stale = false
    local current = redis.call('GET', wm_key)
    if current then
      local cv, cd, state = string.match(current, '^(%-?%d+) (%S+) ?(%a*)$')
      cv = tonumber(cv)
      if cv and (version < cv or (version == cv and digest == cd and state ~= 'open')) then
        stale = true
      end
    end
    if stale then
      out[i] = 0
    else
      redis.call('SET', lock_key, token, 'PX', ttl)
      redis.call('SET', wm_key, ARGV[2 * i + 1] .. ' ' .. digest .. ' open')
      out[i] = 1
    end
  end
end
return out

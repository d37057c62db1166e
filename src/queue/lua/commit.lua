-- Finish writes claimed by claim.lua: on success advance the watermark (never backwards),
-- then release the lock; on failure only release it. Locks held by another token (ours
-- expired and was taken over) are left alone.
-- KEYS: pairs (watermark, lock) per object. ARGV[1] token, ARGV[2] 'commit' or 'release',
-- then pairs (version ms, digest) per object.
local token = ARGV[1]
local commit = ARGV[2] == 'commit'
local done = 0
for i = 1, #KEYS / 2 do
  local wm_key, lock_key = KEYS[2 * i - 1], KEYS[2 * i]
  if redis.call('GET', lock_key) == token then
    if commit then
      local version = tonumber(ARGV[2 * i + 1])
      local current = redis.call('GET', wm_key)
      local cv = current and tonumber(string.match(current, '^(%-?%d+) ')) or nil
      if not cv or version >= cv then
        redis.call('SET', wm_key, ARGV[2 * i + 1] .. ' ' .. ARGV[2 * i + 2])
      end
    end
    redis.call('DEL', lock_key)
    done = done + 1
  end
end
return done

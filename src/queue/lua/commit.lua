-- Finish writes claimed by claim.lua. 'commit' (every write of the version landed) marks
-- the open watermark of that very version done; 'release' (some writes are missing) only
-- drops the lock: the watermark stays open at the version, so older versions stay dropped
-- and this version's retry may still claim it. Locks held by another token (ours expired
-- and was taken over) are left alone.
-- KEYS: pairs (watermark, lock) per object. ARGV[1] token, ARGV[2] 'commit' or 'release',
-- then pairs (version ms, digest) per object.
local token = ARGV[1]
local commit = ARGV[2] == 'commit'
local done = 0
for i = 1, #KEYS / 2 do
  local wm_key, lock_key = KEYS[2 * i - 1], KEYS[2 * i]
  if redis.call('GET', lock_key) == token then
    if commit then
      local mine = ARGV[2 * i + 1] .. ' ' .. ARGV[2 * i + 2]
      local current = redis.call('GET', wm_key)
      if current == nil or current == false or current == mine .. ' open' then
        redis.call('SET', wm_key, mine .. ' done')
      end
    end
    redis.call('DEL', lock_key)
    done = done + 1
  end
end
return done

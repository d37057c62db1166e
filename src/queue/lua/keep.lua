-- Keep a batch's stream entries with the consumer working on them: resets their idle
-- time, so no other consumer's XAUTOCLAIM takes over an entry that is still in hand (a
-- second, harmless copy, but one more round of CRM calls). An entry another consumer
-- took over already, or one acked meanwhile, is left alone.
-- KEYS[1] stream. ARGV[1] group, ARGV[2] consumer, then entry ids.
-- Answers how many entries were kept.
local kept = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'JUSTID')
    kept = kept + 1
  end
end
return kept

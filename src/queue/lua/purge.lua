-- Delete dead letters by id. KEYS[1] dead-letter stream; ARGV ids. Answers how many.
local n = 0
for i = 1, #ARGV do
  n = n + redis.call('XDEL', KEYS[1], ARGV[i])
end
return n

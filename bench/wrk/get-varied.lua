-- get.lua with a different query string on every request (no two request heads alike).
dofile(debug.getinfo(1, "S").source:match("@(.*/)") .. "get.lua")

local n = 0

function request()
  n = n + 1
  return wrk.format(nil, wrk.path .. "&n=" .. n)
end

-- GET with a different query string on every request (no two request heads alike); stops after
-- `wrk ... -- MAX` responses per thread (or at -d, whichever is first).
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
local report = require("report")

local max = 0
local responses = 0
local n = 0

function init(args)
  max = tonumber(args[1]) or 0
end

function request()
  n = n + 1
  return wrk.format(nil, wrk.path .. "&n=" .. n)
end

function response(status, headers, body)
  responses = responses + 1
  if max > 0 and responses >= max then wrk.thread:stop() end
end

done = report.done

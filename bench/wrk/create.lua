-- POSTs ConfigMaps with 1 KiB of data and distinct names: `wrk ... -- MAX PREFIX`
-- stops a thread after MAX responses (or at -d, whichever is first).
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
local report = require("report")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local max = 0
local prefix = "cm"
local counter = 0
local responses = 0
local payload = string.rep("x", 1024)

function init(args)
  max = tonumber(args[1]) or 0
  prefix = (args[2] or "cm") .. "-" .. tostring(wrk.thread:get("id")) .. "-"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"' .. prefix .. counter ..
    '"},"data":{"payload":"' .. payload .. '"}}'
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  responses = responses + 1
  if max > 0 and responses >= max then wrk.thread:stop() end
end

done = report.done

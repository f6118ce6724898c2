-- One benchmark scenario for wrk, configured by bench/run through the environment:
--   BENCH_METHOD        GET, POST or PUT
--   BENCH_PATHS         file of request paths, one per line, used in turn
--   BENCH_TOKENS        file of bearer tokens, one per line, used in turn (absent: no token)
--   BENCH_BODY          file holding the request body (absent: none)
--   BENCH_CONTENT_TYPE  the body's Content-Type (default application/json)
--   BENCH_VERSIONS      with BENCH_IF_MATCH: file of "path version" lines, read at the start and
--                       written at the end, so each run (a process of its own) goes on from the
--                       versions the previous one left
--   BENCH_IF_MATCH      "1": send If-Match with the version last seen for the path's item,
--                       read back from each response's `"id"` and `"version":N` (one
--                       thread, more items than connections: an item is never in flight twice)
-- done() prints one JSON line that bench/run reads.

local function lines(name)
  local out = {}
  local path = os.getenv(name)
  if path == nil or path == "" then return out end
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  return out
end

local function slurp(name)
  local path = os.getenv(name)
  if path == nil or path == "" then return nil end
  local file = assert(io.open(path, "rb"))
  local data = file:read("*a")
  file:close()
  return data
end

local method = os.getenv("BENCH_METHOD") or "GET"
local paths = lines("BENCH_PATHS")
local tokens = lines("BENCH_TOKENS")
local body = slurp("BENCH_BODY")
local content_type = os.getenv("BENCH_CONTENT_TYPE") or "application/json"
local if_match = os.getenv("BENCH_IF_MATCH") == "1"

local counter = 0
versions = {}
local versions_file = os.getenv("BENCH_VERSIONS")
if if_match and versions_file ~= nil then
  local file = io.open(versions_file, "r")
  if file ~= nil then
    for path, version in file:read("*a"):gmatch("(%S+) (%d+)") do
      versions[path] = tonumber(version)
    end
    file:close()
  end
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function request()
  counter = counter + 1
  local path = paths[(counter % #paths) + 1]
  local headers = {}
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1]
  end
  if body ~= nil then headers["Content-Type"] = content_type end
  if if_match then
    headers["If-Match"] = '"' .. (versions[path] or 1) .. '"'
  end
  return wrk.format(method, path, headers, body)
end

-- Defined only when needed: wrk reads response bodies only for scripts that define it.
if if_match then
  function response(status, headers, response_body)
    local id = string.match(response_body, '"id":"([%w%-]+)"')
    local version = string.match(response_body, '"version":(%d+)')
    if id ~= nil and version ~= nil then
      versions["/api/data/" .. id] = tonumber(version)
    end
  end
end

function done(summary, latency, requests)
  if if_match and versions_file ~= nil then
    local file = assert(io.open(versions_file, "w"))
    for _, thread in ipairs(threads) do
      for path, version in pairs(thread:get("versions")) do
        file:write(path .. " " .. version .. "\n")
      end
    end
    file:close()
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p95":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end

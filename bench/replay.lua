-- wrk script: replays the requests in the file named by BENCH_REQUESTS.
-- File format: the first line is "METHOD PATH", then one header per line ("Name: value"), then an empty line, then
-- one request body per line (an empty body is an empty line). Threads take bodies in turn, so a list of distinct
-- bodies (single-use refresh tokens) is never sent twice as long as it is long enough; the end wraps around.
local requests = {}
local index = 1
local thread_id = 0
local thread_count = 1
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(os.getenv("BENCH_REQUESTS"), "r"))
  local first = file:read("*l")
  local method, path = first:match("^(%S+) (%S+)$")
  local headers = {}
  for line in file:lines() do
    if line == "" then break end
    local name, value = line:match("^([^:]+): (.*)$")
    headers[name] = value
  end
  local bodies = {}
  for line in file:lines() do table.insert(bodies, line) end
  file:close()
  if #bodies == 0 then bodies = { "" } end
  thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
  for i = 1 + thread_id, #bodies, thread_count do
    local body = bodies[i]
    if body == "" then body = nil end
    table.insert(requests, wrk.format(method, path, headers, body))
  end
  if #requests == 0 then requests = { wrk.format(method, path, headers, nil) } end
end

function request()
  local r = requests[index]
  index = index + 1
  if index > #requests then index = 1 end
  return r
end

-- Counters are plain numeric globals ("s200", "s400", ...): a thread's tables cannot be read from done().
function response(status, headers, body)
  local name = "s" .. status
  _G[name] = (_G[name] or 0) + 1
end

function done(summary, latency, requests_)
  local counts = {}
  for _, thread in ipairs(threads) do
    for code = 100, 599 do
      local n = thread:get("s" .. code)
      if n then counts[code] = (counts[code] or 0) + n end
    end
  end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, string.format('"%d":%d', code, n)) end
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"timeouts":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, table.concat(parts, ",")))
end

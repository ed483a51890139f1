-- wrk script of tests/ops/test_load.py and `make soak`: /map/ and /api/public/cells in turn,
-- over viewports from a whole continent to a city district. Each thread counts the
-- responses that are not 2xx; done() prints one JSON line the test reads.
local paths = {
  "/map/",
  "/api/public/cells?bbox=20,40,60,70&zoom=4",
  "/map/",
  "/api/public/cells?bbox=30,50,45,60&zoom=6",
  "/map/",
  "/api/public/cells?bbox=36.5,55.3,38.5,56.1&zoom=8",
  "/map/",
  "/api/public/cells?bbox=37.4,55.6,37.8,55.9&zoom=10",
  "/map/",
  "/api/public/cells?bbox=-180,-85,180,85&zoom=2",
  "/map/",
  "/api/public/cells?bbox=29.9,59.8,30.6,60.1&zoom=9",
}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  counter = math.random(#paths)
end

function request()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK {"requests": %d, "seconds": %.2f, "non2xx": %d, "socket_errors": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
      .. '"p50_ms": %.1f, "p90_ms": %.1f, "p99_ms": %.1f, "max_ms": %.1f}\n',
    summary.requests, summary.duration / 1e6, bad,
    e.connect + e.read + e.write + e.timeout, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end

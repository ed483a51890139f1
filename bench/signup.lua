-- wrk script: POST the join form, each request with an address of its own.
-- Arguments (after --): csrf token, csrf cookie, run prefix, email domain,
-- comma-separated URL-encoded town names.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
  thread:set("bad", 0)
end

function init(args)
  token, cookie, prefix, domain = args[1], args[2], args[3], args[4]
  towns = {}
  for town in string.gmatch(args[5], "[^,]+") do table.insert(towns, town) end
  counter = 0
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "csrftoken=" .. cookie,
  }
end

function request()
  counter = counter + 1
  local email = string.format("%s-%d-%d%%40%s", prefix, id, counter, domain)
  -- Every sign-up from an address of its own (10.thread.x.y), as behind nginx.
  headers["X-Real-IP"] = string.format("10.%d.%d.%d", id, math.floor(counter / 256) % 256, counter % 256)
  local body = "csrfmiddlewaretoken=" .. token
    .. "&display_name=Bench+Person&email=" .. email
    .. "&location_text=" .. towns[(counter % #towns) + 1]
    .. "&channel=email&frequency=monthly&topics=events"
    .. "&consent_public_map=on&consent_email_updates=on"
  return wrk.format("POST", "/join/", headers, body)
end

function response(status, headers, body)
  -- A sign-up that worked redirects to /join/done/; anything else is an error.
  if status ~= 302 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, t in ipairs(threads) do bad_total = bad_total + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bad": %d, "errors": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, bad_total,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end

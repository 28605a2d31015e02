-- requests.lua — wrk script: signed GET /asr_jobs/<id> (MODE=get) or signed POST /asr_jobs
-- (MODE=post). Each request goes to the next of NBUCKETS buckets in turn (HOST_i and its signed
-- headers), so submits spread evenly over the buckets' queues and none reaches its MaxSize.
local reqs = {}
local n = 0
function init(args)
  local mode = os.getenv("MODE") or "get"
  local nb = tonumber(os.getenv("NBUCKETS") or "1")
  for i = 0, nb - 1 do
    local h = { ["Host"] = os.getenv("HOST_" .. i) }
    if mode == "post" then
      h["Content-Type"] = "application/xml"
      h["Authorization"] = os.getenv("POST_AUTH_" .. i)
      reqs[#reqs + 1] = wrk.format("POST", "/asr_jobs", h, os.getenv("POST_BODY_" .. i))
    else
      h["Authorization"] = os.getenv("GET_AUTH_" .. i)
      reqs[#reqs + 1] = wrk.format("GET", os.getenv("GET_PATH_" .. i), h)
    end
  end
end
function request()
  n = n + 1
  return reqs[(n % #reqs) + 1]
end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_s=%.2f rps=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end

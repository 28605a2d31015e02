-- requests.lua — wrk script: each wrk thread takes bucket i (HOST_i) and sends either signed
-- GET /asr_jobs/<id> (MODE=get) or signed POST /asr_jobs (MODE=post) with that bucket's headers.
local counter = 0
function setup(thread)
  thread:set("i", counter % tonumber(os.getenv("NBUCKETS") or "1"))
  counter = counter + 1
end
function init(args)
  local mode = os.getenv("MODE") or "get"
  wrk.headers["Host"] = os.getenv("HOST_" .. i)
  if mode == "post" then
    wrk.method = "POST"
    wrk.path = "/asr_jobs"
    wrk.body = os.getenv("POST_BODY_" .. i)
    wrk.headers["Content-Type"] = "application/xml"
    wrk.headers["Authorization"] = os.getenv("POST_AUTH_" .. i)
  else
    wrk.method = "GET"
    wrk.path = os.getenv("GET_PATH_" .. i)
    wrk.headers["Authorization"] = os.getenv("GET_AUTH_" .. i)
  end
end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_s=%.2f rps=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end

-- wrk script for bench/gateway/nginx_side_by_side.py: after the run, prints one SUMMARY line
-- and the latency distribution (wrk's own histogram, microseconds) at percentiles 1..99, 99.5,
-- 99.9 and 99.99, one "PCT <p> <us>" line each, for the CDF plot and the CSV.
-- Runs in wrk's main thread after all its threads stopped: no shared state to guard.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "SUMMARY requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d " ..
    "timeout=%d min_us=%d max_us=%d mean_us=%.1f stdev_us=%.1f\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.min, latency.max, latency.mean, latency.stdev))
  local ps = {}
  for p = 1, 99 do ps[#ps + 1] = p end
  ps[#ps + 1] = 99.5
  ps[#ps + 1] = 99.9
  ps[#ps + 1] = 99.99
  for _, p in ipairs(ps) do
    io.write(string.format("PCT %g %d\n", p, latency:percentile(p)))
  end
end

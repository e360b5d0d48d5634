-- wrk script for the API's /count queries at a steady rate (wrk2's --rate is not in Debian):
-- each connection waits WRK_DELAY_MS between requests, so the rate is about connections * 1000 / delay.
-- Prints one JSON line of figures when done.
local paths = {
  "/count?by=kingdom",
  "/count?by=source",
  "/count?by=totalSpecies",
  "/history?per=hour",
  "/count?by=totalSpecies&windows=10",
}
local sent = 0
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "100")
-- The token is read from its file, never given on wrk's command line (which every user can read).
local token_file = os.getenv("ZOOTOPIA_API_TOKEN_FILE")
if token_file and token_file ~= "" then
  local file = assert(io.open(token_file, "r"))
  wrk.headers["Authorization"] = "Bearer " .. file:read("*a"):gsub("%s+$", "")
  file:close()
end

function request()
  sent = sent + 1
  return wrk.format("GET", paths[(sent % #paths) + 1])
end

function delay()
  return pause
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.1f, "rate_per_s": %.1f, "non_2xx": %d, "socket_errors": %d, '
      .. '"p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, seconds, summary.requests / seconds, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000
  ))
end

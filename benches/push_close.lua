-- wrk script: as ../shared/bench/push.lua (PUT a payload to NGROUPS groups,
-- round robin), but each push on a connection of its own, as cron jobs and
-- curl push: every request asks the server to close the connection after
-- its answer, and wrk connects again for the next.
-- env: PAYLOAD (file), NGROUPS (count, default 200)
local f = assert(io.open(os.getenv("PAYLOAD") or "node_exporter.prom", "rb"))
local body = f:read("*a"); f:close()
local groups = tonumber(os.getenv("NGROUPS") or "200")
local counter = 0
function request()
  counter = counter + 1
  local path = "/metrics/job/node/instance/host-" .. (counter % groups)
  return wrk.format("PUT", path, {["Connection"]="close"}, body)
end

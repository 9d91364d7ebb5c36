-- wrk script: the VictoriaMetrics counterpart of ../shared/bench/push.lua. POSTs
-- a payload in the text format to /api/v1/import/prometheus for NGROUPS
-- distinct (job, instance) pairs, round robin, the same pairs push.lua PUTs to
-- as groups: job="node", instance="host-N", given as extra_label (VictoriaMetrics
-- has no grouping key in its path; it appends the samples, replacing nothing).
-- env: PAYLOAD (file), NGROUPS (count, default 200)
local f = assert(io.open(os.getenv("PAYLOAD") or "node_exporter.prom", "rb"))
local body = f:read("*a"); f:close()
local groups = tonumber(os.getenv("NGROUPS") or "200")
local counter = 0
local thread_id = 0
function setup(thread)
  thread:set("tid", thread_id); thread_id = thread_id + 1
end
function init(args)
  -- Threads start far apart in the rotation, as in push.lua.
  counter = tid * 7919
end
function request()
  counter = counter + 1
  local path = "/api/v1/import/prometheus?extra_label=job=node&extra_label=instance=host-" .. (counter % groups)
  return wrk.format("POST", path, {["Content-Type"]="text/plain; version=0.0.4"}, body)
end

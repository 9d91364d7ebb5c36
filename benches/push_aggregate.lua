-- wrk script: POST a payload to NGROUPS groups round robin, with the header
-- `Pgw-Aggregate: sum` when AGGREGATE=1, so that plain and aggregated
-- pushes are measured by the same requests.
-- env: PAYLOAD (file), NGROUPS (default 200), AGGREGATE (1 or empty)
local f = assert(io.open(os.getenv("PAYLOAD"), "rb"))
local body = f:read("*a"); f:close()
local groups = tonumber(os.getenv("NGROUPS") or "200")
local aggregate = os.getenv("AGGREGATE") == "1"
local counter = 0
local thread_id = 0
function setup(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
function init(args) counter = tid * 7919 end
function request()
  counter = counter + 1
  local h = {["Content-Type"]="text/plain; version=0.0.4"}
  if aggregate then h["Pgw-Aggregate"] = "sum" end
  return wrk.format("POST", "/metrics/job/node/instance/host-" .. (counter % groups), h, body)
end

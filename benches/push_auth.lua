-- wrk script: PUT a payload to NGROUPS groups round robin, with an optional
-- Authorization header, to measure what authentication costs a push.
-- env: PAYLOAD (file), NGROUPS (default 200), AUTH (header value, optional)
local f = assert(io.open(os.getenv("PAYLOAD"), "rb"))
local body = f:read("*a"); f:close()
local groups = tonumber(os.getenv("NGROUPS") or "200")
local auth = os.getenv("AUTH")
local counter = 0
local thread_id = 0
function setup(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
function init(args) counter = tid * 7919 end
function request()
  counter = counter + 1
  local h = {["Content-Type"]="text/plain; version=0.0.4"}
  if auth and auth ~= "" then h["Authorization"] = auth end
  return wrk.format("PUT", "/metrics/job/node/instance/host-" .. (counter % groups), h, body)
end

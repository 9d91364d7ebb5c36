-- wrk script: PUT a body to NGROUPS distinct groups, round robin, with the
-- Content-Type CONTENT_TYPE (the text format's by default), so that protobuf
-- bodies can be pushed as ../shared/bench/push.lua pushes text.
-- env: PAYLOAD (file), NGROUPS (default 200), CONTENT_TYPE
local f = assert(io.open(os.getenv("PAYLOAD"), "rb"))
local body = f:read("*a"); f:close()
local groups = tonumber(os.getenv("NGROUPS") or "200")
local content_type = os.getenv("CONTENT_TYPE") or "text/plain; version=0.0.4"
local counter = 0
local thread_id = 0
function setup(thread)
  thread:set("tid", thread_id); thread_id = thread_id + 1
end
function init(args)
  counter = tid * 7919
end
function request()
  counter = counter + 1
  local path = "/metrics/job/svc/instance/host-" .. (counter % groups)
  return wrk.format("PUT", path, {["Content-Type"]=content_type}, body)
end

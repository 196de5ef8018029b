-- wrk script: every request registers a new version of subject `load-value` (or the subject
-- the SUBJECT environment variable names). Versions differ
-- by a field default, so each is new content yet BACKWARD compatible with the last, and the
-- compatibility check runs on every registration. Each wrk thread numbers its own requests.
local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("tid", tostring(math.random(1, 1000000)))
end

-- An optional argument (`-- N`) stops after N registrations per thread.
local limit = nil

function init(args)
  thread_id = tid
  if args[1] then limit = tonumber(args[1]) end
end

request = function()
  if limit and counter >= limit then
    wrk.thread:stop()
  end
  counter = counter + 1
  local schema = string.format(
    '{\\"type\\":\\"record\\",\\"name\\":\\"Load\\",\\"fields\\":[{\\"name\\":\\"id\\",\\"type\\":\\"string\\"},{\\"name\\":\\"n\\",\\"type\\":\\"long\\",\\"default\\":%s%07d}]}',
    thread_id, counter)
  local body = '{"schema":"' .. schema .. '"}'
  return wrk.format("POST", "/subjects/" .. (os.getenv("SUBJECT") or "load-value") .. "/versions",
    {["Content-Type"] = "application/vnd.schemaregistry.v1+json"}, body)
end

-- Fail loudly if registrations are refused: a benchmark of errors measures nothing.
response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("registration answered " .. status .. ": " .. body .. "\n")
  end
end

-- wrk script: produces batches of RECORDS records of SIZE bytes to PATH, in the format
-- FORMAT (binary: base64 bytes; json: {"id": …, "pad": "…"} objects). The body is built once.
local records = tonumber(os.getenv("RECORDS") or "100")
local size = tonumber(os.getenv("SIZE") or "1024")
local format = os.getenv("FORMAT") or "binary"
local path = os.getenv("TOPIC_PATH") or "/topics/bench"

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64_of_size(n)
  -- n bytes of data encode as 4 * n / 3 characters; use a repeating pattern.
  local out = {}
  for i = 1, math.floor(n / 3) * 4 do
    local k = (i * 7) % 64 + 1
    out[#out + 1] = b64chars:sub(k, k)
  end
  return table.concat(out)
end

local items = {}
for i = 1, records do
  if format == "binary" then
    items[#items + 1] = '{"value":"' .. base64_of_size(size) .. '"}'
  else
    items[#items + 1] = '{"value":{"id":"r-' .. i .. '","pad":"' .. string.rep("x", size - 30) .. '"}}'
  end
end
wrk.method = "POST"
wrk.path = path
wrk.body = '{"records":[' .. table.concat(items, ",") .. ']}'
wrk.headers["Content-Type"] = "application/vnd.kafka." .. format .. ".v2+json"

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("produce answered " .. status .. ": " .. body:sub(1, 300) .. "\n")
  end
end

-- wrk script: looks up the seeded schema under `bench-value` (POST /subjects/{s}).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/vnd.schemaregistry.v1+json"
wrk.body = os.getenv("LOOKUP_BODY")

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("lookup answered " .. status .. ": " .. body .. "\n")
  end
end

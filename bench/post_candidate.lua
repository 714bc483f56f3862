-- wrk script: POST /candidates with a unique email per request (thread id + counter).
local counter = 0
local thread_id = 0
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
end

function init(args)
  thread_id = tid
  run_id = args[1] or "run"
  api_key = args[2] or ""
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"fullname":"Bench Candidate","email":"b%s-%d-%d@example.com","skills":"java","experience":%d}',
    run_id, thread_id, counter, counter % 12)
  return wrk.format("POST", "/candidates",
                    {["Content-Type"] = "application/json", ["x-api-key"] = api_key}, body)
end

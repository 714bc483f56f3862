-- wrk script: DynamoDB PutItem of the seed's fields, with a unique id per request, against a
-- DynamoDB implementation (dynalite). The Authorization header has AWS's shape; dynalite checks
-- its form, not the signature.
local counter = 0
local thread_id = 0
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
end

function init(args)
  thread_id = tid
end

local headers = {
  ["Content-Type"] = "application/x-amz-json-1.0",
  ["X-Amz-Target"] = "DynamoDB_20120810.PutItem",
  ["X-Amz-Date"] = "20261203T000000Z",
  ["Authorization"] = "AWS4-HMAC-SHA256 Credential=bench/20261203/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000",
}

function request()
  counter = counter + 1
  local body = string.format(
    '{"TableName":"candidates","Item":{"id":{"S":"%d-%d"},"fullname":{"S":"Bench Candidate"},'
    .. '"email":{"S":"b%d-%d@example.com"},"skills":{"S":"java"},"experience":{"N":"%d"},'
    .. '"evaluated":{"BOOL":false},"submittedAt":{"N":"1796284800000"},"updatedAt":{"N":"1796284800000"}}}',
    thread_id, counter, thread_id, counter, counter % 12)
  return wrk.format("POST", "/", headers, body)
end

'use strict';
// The seed's submit (api/candidates.js of the tutorial series) with the AWS SDK v3 in place of
// v2's DocumentClient: validate the body, then PutItem of the seed's fields.
const crypto = require('node:crypto');
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const { DynamoDBDocumentClient, PutCommand } = require('@aws-sdk/lib-dynamodb');

const dynamoDb = DynamoDBDocumentClient.from(new DynamoDBClient({
  region: process.env.AWS_REGION || 'us-east-1',
  endpoint: process.env.DYNAMODB_ENDPOINT,
}));

const candidateInfo = (fullname, email, skills, experience) => {
  const timestamp = new Date().getTime();
  return {
    id: crypto.randomUUID(),
    fullname,
    email,
    skills,
    experience,
    evaluated: false,
    submittedAt: timestamp,
    updatedAt: timestamp,
  };
};

module.exports.submit = async (event) => {
  const requestBody = JSON.parse(event.body);
  const { fullname, email, skills, experience } = requestBody;
  if (typeof fullname !== 'string' || typeof email !== 'string' || typeof experience !== 'number') {
    console.error('Validation Failed');
    return { statusCode: 400, body: JSON.stringify({ message: 'Couldn\'t submit candidate because of validation errors.' }) };
  }
  const candidate = candidateInfo(fullname, email, skills, experience);
  await dynamoDb.send(new PutCommand({ TableName: process.env.CANDIDATE_TABLE, Item: candidate }));
  return {
    statusCode: 200,
    body: JSON.stringify({
      message: `Sucessfully submitted candidate with email ${email}`,
      candidateId: candidate.id,
    }),
  };
};

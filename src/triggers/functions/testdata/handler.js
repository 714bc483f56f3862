// The seed's handler shape, run as `node handler.js` by process_function_test.cc: reads the
// DynamoDB stream event from stdin, logs one line per record to stderr and reports the records
// whose experience is "13" as failed (ReportBatchItemFailures).
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const event = JSON.parse(input);
  const batchItemFailures = [];
  for (const record of event.Records) {
    const image = record.dynamodb.NewImage || {};
    const experience = image.experience ? image.experience.N : undefined;
    console.error(`${record.eventName} ${record.dynamodb.SequenceNumber} experience=${experience}`);
    if (experience === '13') {
      batchItemFailures.push({ itemIdentifier: record.dynamodb.SequenceNumber });
    }
  }
  process.stdout.write(JSON.stringify({ batchItemFailures }));
});

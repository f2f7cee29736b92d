// The fake Graph server in its own process for the capi benchmark: Meta's CPU is not ours.
// Prints `{"url": …}` once listening, exits when its parent closes stdin. Args: <datasetId> <token>.
import { startFakeGraph } from '../../packages/testing/src/fake-graph/index';

const [datasetId = '1', token = 'token'] = process.argv.slice(2);
const fake = await startFakeGraph({ accounts: [], datasets: [{ id: datasetId, token }] });
process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  const events = fake.capiEvents(datasetId);
  process.stderr.write(
    `${JSON.stringify({ accepted: events.length, distinct: new Set(events.map((e) => `${e.event.event_name}|${e.event.event_id}`)).size })}\n`,
  );
  void fake.close().then(() => process.exit(0));
});

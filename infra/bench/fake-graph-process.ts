// The fake Graph server in its own process, for benchmarks: Meta's CPU is not ours, so serving
// pages must not compete with the sync being measured. Prints `{"url": …}` once listening and
// exits when its parent closes stdin. Args: <adAccountId> <token> <ads> <maxPageSize>.
import { startFakeGraph } from '../../packages/testing/src/fake-graph/index';

const [adAccountId = 'act_1', token = 'token', ads = '5000', maxPageSize = '500'] = process.argv.slice(2);
const fake = await startFakeGraph({ accounts: [{ adAccountId, token, ads: Number(ads) }], maxPageSize: Number(maxPageSize) });
process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void fake.close().then(() => process.exit(0)));

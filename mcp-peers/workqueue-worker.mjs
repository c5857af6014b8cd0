// The Anthropic TypeScript SDK's own worker helper (EnvironmentWorker with its agent toolset
// run by a local shell, no sandbox), used unchanged: the oracle for the reference queue's
// session endpoints, and the reference side of `airlock bench worker`. It takes items until
// ITEMS were handled (0: until it is killed), then exits 0; one JSON line per item on stdout.
// Usage: node workqueue-worker.mjs  (BASE_URL, ENV_ID, ENV_KEY, WORKDIR, ITEMS, MAX_IDLE_MS in the environment)
import Anthropic from '@anthropic-ai/sdk';

const { BASE_URL, ENV_ID, ENV_KEY, WORKDIR } = process.env;
const items = Number(process.env.ITEMS ?? '1');
const client = new Anthropic({ baseURL: BASE_URL, apiKey: null, authToken: ENV_KEY, maxRetries: 2 });
const worker = client.beta.environments.work.worker({
  environmentId: ENV_ID, environmentKey: ENV_KEY, workdir: WORKDIR, maxIdleMs: Number(process.env.MAX_IDLE_MS ?? '500'),
  memorySyncIntervalMs: null,
});
const work = client.beta.environments.work;
const say = (step, value) => console.log(JSON.stringify({ step, ...value }));

const pending = [];
for (let handled = 0; items === 0 || handled < items;) {
  const item = await work.poll(ENV_ID, { block_ms: 900 });
  if (!item) continue;
  await work.ack(item.id, { environment_id: ENV_ID });
  handled++;
  pending.push(worker.handleItem({ workId: item.id, environmentId: ENV_ID, sessionId: item.data.id, workSecret: item.secret })
    .then(() => say('handled', { work_id: item.id, session_id: item.data.id }))
    .catch((e) => { say('failed', { work_id: item.id, message: String(e) }); process.exitCode = 1; }));
}
await Promise.all(pending);

// The Anthropic TypeScript SDK's own worker, whole and unchanged: EnvironmentWorker.run polls
// the environment, acks, serves each session with its agent toolset (a local shell and the
// file tools in WORKDIR, memory stores at their mount paths, skills), answers healthcheck items,
// keeps leases and stops items, until SIGTERM. The reference side of the differential test.
// Usage: node workqueue-sdk-worker.mjs  (BASE_URL, ENV_ID, ENV_KEY, WORKDIR, MAX_IDLE_MS, WORKER_ID in the environment)
import Anthropic from '@anthropic-ai/sdk';

const { BASE_URL, ENV_ID, ENV_KEY, WORKDIR } = process.env;
const client = new Anthropic({ baseURL: BASE_URL, apiKey: null, authToken: ENV_KEY });
const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
const worker = client.beta.environments.work.worker({
  environmentId: ENV_ID, environmentKey: ENV_KEY, workdir: WORKDIR, maxIdleMs: Number(process.env.MAX_IDLE_MS ?? '1000'),
  workerId: process.env.WORKER_ID ?? 'sdk-worker', memorySyncIntervalMs: 5000,
});
console.log(JSON.stringify({ step: 'running' }));
try {
  await worker.run(stop.signal);
} catch (e) {
  if (!stop.signal.aborted) {
    console.log(JSON.stringify({ step: 'failed', message: String(e?.stack ?? e) }));
    process.exitCode = 1;
  }
}
console.log(JSON.stringify({ step: 'stopped' }));

// The Anthropic TypeScript SDK's environments work client, run unchanged against a work queue
// (Airlock's reference one in the tests). One JSON line per step on stdout; exits 1 on a
// surprise. Usage: node workqueue-oracle.mjs  (BASE_URL, ENV_ID, ENV_KEY, API_KEY in the environment)
import Anthropic from '@anthropic-ai/sdk';

const { BASE_URL, ENV_ID, ENV_KEY, API_KEY } = process.env;
const say = (step, value) => console.log(JSON.stringify({ step, ...value }));
// The environment key rides as Authorization: Bearer; the API key as x-api-key.
const envClient = new Anthropic({ baseURL: BASE_URL, apiKey: null, authToken: ENV_KEY, maxRetries: 0 });
const apiClient = new Anthropic({ baseURL: BASE_URL, apiKey: API_KEY, authToken: null, maxRetries: 0 });
const work = (c) => c.beta.environments.work;

try {
  const before = await work(apiClient).stats(ENV_ID);
  say('stats', { depth: before.depth, type: before.type });

  const item = await work(envClient).poll(ENV_ID, { block_ms: 500, 'Anthropic-Worker-ID': 'oracle-1' });
  say('poll', { id: item.id, state: item.state, data: item.data, has_secret: typeof item.secret === 'string' });

  const acked = await work(envClient).ack(item.id, { environment_id: ENV_ID });
  say('ack', { state: acked.state });

  // The per-item credential: the sessions token inside the item's secret.
  const token = JSON.parse(Buffer.from(item.secret, 'base64url').toString()).sessions_token;
  const itemClient = new Anthropic({ baseURL: BASE_URL, apiKey: null, authToken: token, maxRetries: 0 });
  const first = await work(itemClient).heartbeat(item.id, { environment_id: ENV_ID, expected_last_heartbeat: 'NO_HEARTBEAT', desired_ttl_seconds: 20 });
  say('heartbeat', { lease_extended: first.lease_extended, state: first.state, ttl_seconds: first.ttl_seconds, type: first.type });

  try {
    await work(itemClient).heartbeat(item.id, { environment_id: ENV_ID, expected_last_heartbeat: 'not-the-last-one' });
    say('stale-heartbeat', { status: 200 });
  } catch (e) {
    say('stale-heartbeat', { status: e.status, name: e.constructor.name, error_code: e.error?.error?.details?.error_code,
      current_state: e.error?.error?.details?.current_state?.state });
  }

  const second = await work(itemClient).heartbeat(item.id, { environment_id: ENV_ID, expected_last_heartbeat: first.last_heartbeat });
  say('heartbeat-again', { lease_extended: second.lease_extended, changed: second.last_heartbeat !== first.last_heartbeat });

  const listed = [];
  for await (const w of work(envClient).list(ENV_ID, { limit: 1 })) listed.push(w.id);
  say('list', { ids: listed });

  const got = await work(apiClient).retrieve(item.id, { environment_id: ENV_ID });
  say('retrieve', { state: got.state, acknowledged: got.acknowledged_at !== null });

  const stopped = await work(itemClient).stop(item.id, { environment_id: ENV_ID, force: true });
  say('stop', { state: stopped.state });
  try {
    await work(itemClient).stop(item.id, { environment_id: ENV_ID, force: true });
    say('stop-again', { status: 200 });
  } catch (e) {
    say('stop-again', { status: e.status });
  }

  const next = await work(envClient).poll(ENV_ID, { block_ms: 100 });
  say('poll-next', { id: next?.id ?? null, first: item.id });
  await work(envClient).ack(next.id, { environment_id: ENV_ID });
  const none = await work(envClient).poll(ENV_ID, { block_ms: 100 });
  say('poll-empty', { value: none ?? null });
} catch (e) {
  say('failed', { status: e.status, message: String(e) });
  process.exit(1);
}

// The agent worker: registers the echo agent under an agent name (explicit dispatch) with one LiveKit
// URL. Independent nodes (no shared Redis) each need their own worker registration: start one worker
// per node. LiveKit's own cluster (nodes sharing Redis) needs one worker pool for the whole cluster:
// start it (or several, for more capacity) with the cluster's URL.
//   node dist/main.js --url ws://127.0.0.1:7880 --api-key KEY --api-secret SECRET --agent-name echo
// Flags or env: LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, LIVEKIT_AGENT_NAME. Bad flags: one
// message naming each, exit 2.
import { AgentServer, ServerOptions, initializeLogger, log } from '@livekit/agents';
import { fileURLToPath } from 'node:url';
import { parseWorkerOptions } from './worker-options.js';

const parsed = parseWorkerOptions(process.argv.slice(2), process.env);
if ('problems' in parsed) {
  console.error(`agent-worker: ${parsed.problems.join('; ')}`);
  process.exit(2);
}
const options = parsed.options;

initializeLogger({ pretty: false, level: options.logLevel });
const logger = log().child({ url: options.url, agentName: options.agentName });

const server = new AgentServer(
  new ServerOptions({
    agent: fileURLToPath(new URL('./echo-agent.js', import.meta.url)),
    agentName: options.agentName,
    wsURL: options.url,
    apiKey: options.apiKey,
    apiSecret: options.apiSecret,
    // Development defaults (no load threshold: a busy test machine must not look full), but with a job
    // process kept warm: forking one and importing @livekit/agents takes a second or more here, which a
    // job dispatched after a move would wait for.
    production: false,
    numIdleProcesses: options.idleProcesses,
    // Retries its node for as long as it runs (every 2-10 s, the SDK's own backoff): a node restarted on
    // the same URL gets its worker back. The SDK's default gives up after 10 tries.
    maxRetry: Number.MAX_SAFE_INTEGER,
    host: '127.0.0.1',
    port: options.healthPort,
  }),
);

server.event.on('worker_registered', (workerId: string) =>
  logger.info(
    { event: 'worker-registered', workerId },
    `worker ${workerId} registered with ${options.url} as ${options.agentName}`,
  ),
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ event: 'worker-stopping', signal }, `worker stopping (${signal})`);
  server
    .close()
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      logger.error({ error }, 'worker did not close cleanly');
      process.exit(1);
    });
};
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));

server.run().catch((error: unknown) => {
  logger.fatal({ error }, 'worker stopped');
  process.exit(1);
});

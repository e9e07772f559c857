// The agent worker: registers the echo agent under an agent name (explicit dispatch).
// Independent nodes (no shared Redis) each need their own worker registration: start one worker per
// node, with that node's URL. LiveKit's own cluster (nodes sharing Redis) needs a pool registered with
// more than one member: give the worker the cluster's URL and LiveKit's Redis, and it registers with
// every member it finds there while its jobs connect through the cluster's URL.
//   node dist/main.js --url ws://127.0.0.1:7880 --api-key KEY --api-secret SECRET --agent-name echo
//   node dist/main.js --url wss://lk.example --livekit-redis redis://10.0.0.5:6379 [--node-port 7880] ...
// Flags or env: LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, LIVEKIT_AGENT_NAME, LIVEKIT_REDIS_URL,
// NODE_PORT. Bad flags: one message naming each, exit 2.
import { AgentServer, ServerOptions, initializeLogger, log } from '@livekit/agents';
import { fileURLToPath } from 'node:url';
import { handToJobs } from './job-settings.js';
import { LiveKitRegistry } from './livekit-registry.js';
import { MemberRegistrations, type Registration } from './member-registrations.js';
import { parseWorkerOptions } from './worker-options.js';

const parsed = parseWorkerOptions(process.argv.slice(2), process.env);
if ('problems' in parsed) {
  console.error(`agent-worker: ${parsed.problems.join('; ')}`);
  process.exit(2);
}
const options = parsed.options;

initializeLogger({ pretty: false, level: options.logLevel });
const logger = log().child({ url: options.url, agentName: options.agentName });
handToJobs(
  options.livekitRedis === undefined
    ? undefined
    : { url: options.url, livekitRedis: options.livekitRedis, nodePort: options.nodePort },
);

/**
 * Jobs one registration takes before it reports itself full. The echo agent costs next to nothing, so
 * its load is its share of this, not the machine's CPU (agents-js' default): LiveKit offers a job only to
 * workers whose load is under its target_load (0.7 by default: JobRequestAffinity in v1.13.5), and a
 * 2-core test machine busy with the nodes, the bots and Chromium sits above that, where a dispatch after
 * a move found "no servers available" and was dropped.
 */
const JOB_CAPACITY = 32;
/**
 * How long a job process may take to start (import @livekit/agents, prewarm libwebrtc) before agents-js
 * kills it and starts another: its default, 10 s, was exceeded on a 2-core machine under a full test
 * load, and each retry started from scratch while the dispatched job waited for a warm process.
 */
const INITIALIZE_PROCESS_TIMEOUT_MS = 60_000;

/** One registration with one LiveKit URL: a node, the cluster's, or one member of it. */
function register(url: string, onFailure: (error: unknown) => void): Registration {
  const server = new AgentServer(
    new ServerOptions({
      agent: fileURLToPath(new URL('./echo-agent.js', import.meta.url)),
      agentName: options.agentName,
      wsURL: url,
      apiKey: options.apiKey,
      apiSecret: options.apiSecret,
      // Development defaults (no load threshold: a busy test machine must not look full), but with job
      // processes kept warm: forking one and importing @livekit/agents takes 1-5 s here, which a job
      // dispatched after a move would wait for.
      production: false,
      numIdleProcesses: options.idleProcesses,
      initializeProcessTimeout: INITIALIZE_PROCESS_TIMEOUT_MS,
      loadFunc: async (self) => Math.min(1, self.activeJobs.length / JOB_CAPACITY),
      // Retries its node for as long as it runs (every 2-10 s, the SDK's own backoff): a node restarted on
      // the same URL gets its worker back. The SDK's default gives up after 10 tries.
      maxRetry: Number.MAX_SAFE_INTEGER,
      host: '127.0.0.1',
      port: options.healthPort,
    }),
  );
  server.event.on('worker_registered', (workerId: string) =>
    logger.info(
      { event: 'worker-registered', workerId, registeredWith: url },
      `worker ${workerId} registered with ${url} as ${options.agentName}`,
    ),
  );
  server.run().catch(onFailure);
  return { url, activeJobs: () => server.activeJobs.length, close: () => server.close() };
}

let close: () => Promise<void>;
if (options.livekitRedis === undefined) {
  const registration = register(options.url, (error) => {
    logger.fatal({ error }, 'worker stopped');
    process.exit(1);
  });
  close = () => registration.close();
} else {
  const registry = new LiveKitRegistry(options.livekitRedis);
  const members = new MemberRegistrations(
    registry,
    options.nodePort,
    // One member's registration failing leaves the others serving the cluster.
    (url) => register(url, (error) => logger.error({ error, registeredWith: url }, `registration with ${url} stopped`)),
    logger,
  );
  members.start();
  close = async () => {
    await members.close();
    registry.close();
  };
}

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ event: 'worker-stopping', signal }, `worker stopping (${signal})`);
  close()
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      logger.error({ error }, 'worker did not close cleanly');
      process.exit(1);
    });
};
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));

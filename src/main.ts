// `node dist/src/main.js [flags]`: parse config, start the embedded media cluster when no --url is given,
// then serve the API, the socket.io namespace and the built client.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './bootstrap';
import { AppConfig } from './config/app-config';
import { ConfigError, parseConfig, USAGE } from './config/parse-config';
import { DrainService } from './lifecycle/drain.service';
import type { MediaCluster } from './media-cluster/api';
import { freePort, isPortFree } from './shared/ports';

const EXIT_BAD_CONFIG = 2;
/** SIGTERM: rebuilds in flight get this long to finish before the sockets close. */
const DRAIN_REBUILDS_MS = 5_000;
/** The whole graceful shutdown, drain included; past it the process exits anyway. */
const SHUTDOWN_BOUND_MS = 10_000;

class NoEmbeddedCluster extends Error {}

/** The media cluster, loaded only when one is started: a build without it runs with --url. */
async function loadMediaCluster(): Promise<typeof import('./media-cluster')> {
  // Resolved first: a folder this build left out is not an error inside the cluster's code.
  try {
    require.resolve('./media-cluster');
  } catch {
    throw new NoEmbeddedCluster(
      'this build has no embedded media cluster (the production image leaves it out); give your media nodes with --url',
    );
  }
  return import('./media-cluster');
}

/**
 * The embedded nodes: independent ones on consecutive ports from --dev-base-port, or with --livekit-cluster
 * LiveKit's own cluster, whose one URL (nginx) takes --dev-base-port and whose nodes each listen on
 * --node-port at their own 127.0.0.x, where the backend probes them.
 */
async function startEmbeddedCluster(config: AppConfig, logger: Logger): Promise<MediaCluster> {
  const { startMediaCluster } = await loadMediaCluster();
  let basePort = config.devBasePort;
  if (basePort !== 0) {
    const count = config.livekitCluster ? 1 : config.devNodes;
    const wanted = Array.from({ length: count }, (_, i) => basePort + i);
    const free = await Promise.all(wanted.map((port) => isPortFree(port)));
    if (free.includes(false)) {
      logger.warn(`ports ${wanted.join(', ')} are not all free; the embedded cluster takes free ports instead`);
      basePort = 0;
    }
  }
  const options = {
    nodes: config.devNodes,
    basePort,
    apiKey: config.apiKey,
    apiSecret: config.apiSecret,
    webhookUrl: `http://127.0.0.1:${config.port}/webhooks/livekit`,
  };
  return config.livekitCluster
    ? startMediaCluster('livekit', { ...options, topology: 'cluster', nodePort: config.nodePort })
    : startMediaCluster(config.media, options);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  let parsed: AppConfig;
  try {
    parsed = parseConfig(argv, process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`session-rebuilder: ${error.message}\n\n${USAGE}`);
    process.exit(EXIT_BAD_CONFIG);
  }
  const logger = new Logger('Main');
  // The embedded cluster's webhook URL needs the port before the app listens.
  const port = parsed.port === 0 ? await freePort() : parsed.port;
  let embedded: MediaCluster | null = null;
  if (parsed.embeddedCluster) {
    try {
      embedded = await startEmbeddedCluster(parsed.resolved({ port }), logger);
    } catch (error) {
      if (!(error instanceof NoEmbeddedCluster)) throw error;
      console.error(`session-rebuilder: ${error.message}`);
      process.exit(EXIT_BAD_CONFIG);
    }
  }
  // Final from here on: nothing changes the configuration after this line. An embedded LiveKit cluster is
  // cluster mode: its one URL, and the Redis holding LiveKit's node registry.
  const config = parsed.resolved(
    embedded?.topology === 'cluster'
      ? { port, urls: [embedded.clusterUrl], livekitRedis: embedded.livekitRedisUrl }
      : { port, urls: embedded ? embedded.nodes().map((node) => node.url) : parsed.urls },
  );

  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: stopping (at most ${SHUTDOWN_BOUND_MS / 1000} s)`);
    setTimeout(() => {
      logger.error(`${signal}: shutdown took over ${SHUTDOWN_BOUND_MS / 1000} s; exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_BOUND_MS).unref();
    if (app) {
      await app
        .get(DrainService)
        .drain(DRAIN_REBUILDS_MS)
        .catch((error: unknown) => logger.error(`drain failed: ${String(error)}`));
      // Keep-alive connections (a load balancer's) would hold the HTTP server open until they time out.
      (app.getHttpServer() as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    }
    await app?.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    app = await createApp(config, embedded);
    await app.listen(config.port, config.host);
  } catch (error) {
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  logger.log(`config: ${config.describe()}`);
  if (embedded?.topology === 'cluster')
    console.log(
      `session-rebuilder: LiveKit cluster ${embedded.clusterUrl} (nginx pid ${embedded.nginxPid}), its Redis ${embedded.livekitRedisUrl}`,
    );
  for (const node of embedded?.nodes() ?? [])
    console.log(
      `session-rebuilder: ${config.media === 'livekit' ? 'livekit-server' : 'dev cluster'} ${node.name} ${node.url} (pid ${node.pid}${node.livekitNodeId ? `, id ${node.livekitNodeId}` : ''})`,
    );
  if (!embedded) for (const url of config.urls) console.log(`session-rebuilder: media node ${url}`);
  console.log(`session-rebuilder: app http://127.0.0.1:${config.port}`);
}

/** Binding --port / --host failed: the operator's input, so the message says it all and a stack adds nothing. */
function isBindError(error: unknown): error is NodeJS.ErrnoException {
  const { code, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  return (
    (syscall === 'listen' && (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')) ||
    (syscall === 'getaddrinfo' && code === 'ENOTFOUND')
  );
}

main().catch((error: unknown) => {
  const detail = isBindError(error)
    ? `${error.message} (check --port / --host)`
    : error instanceof Error
      ? error.stack
      : String(error);
  console.error(`session-rebuilder: failed to start: ${detail}`);
  process.exit(1);
});

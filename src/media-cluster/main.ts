// `npm run dev-cluster -- --nodes 3 [--engine dev|livekit] [--topology cluster]`: runs a local media
// cluster until Ctrl-C, printing each node's URL and pid (and for LiveKit's own cluster its one URL, its
// Redis and each node's LiveKit id). Lines typed on stdin act on it: `kill node-2`, `hang node-1`, `list`...
import type { MediaCluster, MediaEngine } from './api';
import { runCommandLoop } from '../shared/command-loop';
import { parseCliOptions, USAGE } from './cli-options';
import { startMediaCluster } from './start-media-cluster';

const COMMANDS = 'kill|hang|resume|restart <node>, list, quit';
const ENGINE_NAMES: Record<MediaEngine, string> = { dev: 'dev cluster', livekit: 'livekit-server cluster' };

/**
 * One line per node, `node-1 ws://127.0.0.1:7880 pid 12345`: scripts parse it (in a LiveKit cluster
 * ` id ND_...` follows, LiveKit's id of the node's process; state follows when not running).
 */
function printNodes(cluster: MediaCluster): void {
  for (const node of cluster.nodes()) {
    const id = node.livekitNodeId ? ` id ${node.livekitNodeId}` : '';
    const state = node.state === 'running' ? '' : ` (${node.state})`;
    console.log(`${node.name} ${node.url} pid ${node.pid ?? '-'}${id}${state}`);
  }
}

async function runCommand(cluster: MediaCluster, line: string): Promise<boolean> {
  const [command, target] = line.trim().split(/\s+/);
  switch (command) {
    case '':
      return true;
    case 'list':
      printNodes(cluster);
      return true;
    case 'quit':
    case 'exit':
      return false;
    case 'kill':
    case 'hang':
    case 'resume':
    case 'restart':
      if (!target) {
        console.log(`${command} needs a node name or url`);
        return true;
      }
      try {
        await cluster[command](target);
        printNodes(cluster);
      } catch (error) {
        console.log((error as Error).message);
      }
      return true;
    default:
      console.log(`unknown command ${JSON.stringify(command)}; commands: ${COMMANDS}`);
      return true;
  }
}

async function main(): Promise<void> {
  const parsed = parseCliOptions(process.argv.slice(2), process.env);
  if (parsed.kind === 'help') {
    console.log(USAGE);
    return;
  }
  if (parsed.kind === 'error') {
    console.error(`dev-cluster: bad configuration:\n  - ${parsed.problems.join('\n  - ')}\n\n${USAGE}`);
    process.exit(2);
  }
  const { cluster: options, engine, quiet, defaultSecret } = parsed.options;
  const cluster = await startMediaCluster(engine, {
    ...options,
    onLog: quiet ? undefined : (line) => console.log(line),
  });
  const secret = defaultSecret ? `secret "${options.apiSecret}"` : 'secret as given';
  if (cluster.topology === 'cluster') {
    console.log(
      `LiveKit cluster up: ${cluster.nodes().length} livekit-server nodes sharing one Redis, api key "${cluster.apiKey}", ${secret}`,
    );
    console.log(`cluster ${cluster.clusterUrl} (nginx pid ${cluster.nginxPid}: the one URL for clients and --url)`);
    console.log(`redis ${cluster.livekitRedisUrl} (LiveKit's registry: nodes, room_node_map; --livekit-redis)`);
  } else {
    console.log(`${ENGINE_NAMES[engine]} up: ${cluster.nodes().length} nodes, api key "${cluster.apiKey}", ${secret}`);
  }
  printNodes(cluster);
  console.log(`commands: ${COMMANDS}`);

  runCommandLoop(
    () => cluster.stop(),
    (line) => runCommand(cluster, line),
  );
}

main().catch((error) => {
  console.error(`dev-cluster: ${(error as Error).message}`);
  process.exit(1);
});

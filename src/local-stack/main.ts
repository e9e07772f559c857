// `npm run cluster -- [--instances 2] [--nodes 2] [--port 5000] [--media dev|livekit] [--livekit-redis]`:
// the production layout on one machine (Redis, N backend instances, nginx in front, media nodes), until Ctrl-C.
// Prints which pid is which; lines typed on stdin crash and restart instances and nodes.
import { parseFlags, type FlagSpec } from '../shared/cli-flags';
import { runCommandLoop } from '../shared/command-loop';
import { startLocalStack, type LocalStack } from './local-stack';

export const USAGE = `Usage: npm run cluster -- [options]

  --instances N        backend instances behind nginx (default 2, at most 8)
  --nodes N            media nodes (default 2, at most 8)
  --port P             nginx's port, the URL to open (default 5000; 0 = a free port)
  --media dev|livekit  our dev nodes (default) or the real LiveKit server (npm run livekit:install first)
  --livekit-redis      with --media livekit: LiveKit's own multi-node cluster, its nodes sharing the
                       instances' Redis, each on its own 127.0.0.x (added to lo: needs root), nginx in
                       front as the one URL; the instances run in cluster mode (--livekit-redis)
  --verbose            print every instance's log lines
  --help

Needs Debian's redis-server and nginx.`;

const COMMANDS = 'kill|restart instance-N, kill|hang|resume|restart node-N, list, quit';

const FLAGS = {
  instances: { type: 'string' },
  nodes: { type: 'string' },
  port: { type: 'string' },
  media: { type: 'string' },
  'livekit-redis': { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} satisfies FlagSpec;

function integer(raw: unknown, flag: string, fallback: number, min: number, max: number, problems: string[]): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || value < min || value > max) {
    problems.push(`${flag} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    return fallback;
  }
  return value;
}

function printLayout(stack: LocalStack): void {
  const { media } = stack;
  const shared = media.topology === 'cluster' ? ' (shared by the instances and LiveKit)' : '';
  console.log(`redis     ${stack.redis.url} pid ${stack.redis.pid()}${shared}`);
  for (const instance of stack.instances)
    console.log(`${instance.name} ${instance.url} pid ${instance.pid() ?? '- (dead)'}`);
  for (const node of media.nodes())
    console.log(
      `${node.name}    ${node.url} pid ${node.pid ?? '-'}${node.livekitNodeId ? ` id ${node.livekitNodeId}` : ''}${node.state === 'running' ? '' : ` (${node.state})`}`,
    );
  if (media.topology === 'cluster')
    console.log(`livekit   ${media.clusterUrl} pid ${media.nginxPid} (nginx in front of the nodes)`);
  console.log(`nginx     ${stack.url} pid ${stack.nginx.pid}`);
}

async function runCommand(stack: LocalStack, line: string): Promise<boolean> {
  const [command, target] = line.trim().split(/\s+/);
  if (!command) return true;
  if (command === 'quit' || command === 'exit') return false;
  if (command === 'list') {
    printLayout(stack);
    return true;
  }
  const instance = stack.instances.find((i) => i.name === target);
  try {
    if (instance && command === 'kill') {
      console.log(`SIGKILL ${instance.name} (pid ${instance.pid() ?? '-'})`);
      instance.kill();
    } else if (instance && command === 'restart') {
      await instance.restart();
      console.log(`${instance.name} running again, pid ${instance.pid()}`);
    } else if (target && ['kill', 'hang', 'resume', 'restart'].includes(command)) {
      await stack.media[command as 'kill' | 'hang' | 'resume' | 'restart'](target);
      printLayout(stack);
    } else {
      console.log(`unknown command ${JSON.stringify(line.trim())}; commands: ${COMMANDS}`);
    }
  } catch (error) {
    console.log((error as Error).message);
  }
  return true;
}

async function main(): Promise<void> {
  const parsed = parseFlags(process.argv.slice(2), FLAGS);
  if (parsed.values.help) {
    console.log(USAGE);
    return;
  }
  const problems = parsed.problems;
  const instances = integer(parsed.values.instances, '--instances', 2, 1, 8, problems);
  const nodes = integer(parsed.values.nodes, '--nodes', 2, 1, 8, problems);
  const port = integer(parsed.values.port, '--port', 5000, 0, 65535, problems);
  const media = parsed.values.media ?? 'dev';
  if (media !== 'dev' && media !== 'livekit')
    problems.push(`--media must be dev or livekit (got ${JSON.stringify(media)})`);
  const livekitCluster = parsed.values['livekit-redis'] === true;
  if (livekitCluster && media !== 'livekit')
    problems.push(
      "--livekit-redis runs LiveKit's own cluster: it needs --media livekit (the dev engine does not imitate it)",
    );
  if (problems.length > 0) {
    console.error(`cluster: bad configuration:\n  - ${problems.join('\n  - ')}\n\n${USAGE}`);
    process.exit(2);
  }
  const verbose = parsed.values.verbose === true;
  const nodesWhat = livekitCluster ? `${nodes} LiveKit node(s) sharing it behind nginx` : `${nodes} media node(s)`;
  console.log(`starting Redis, ${nodesWhat}, ${instances} backend instance(s) and nginx...`);
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      instances,
      nodes,
      port,
      media: media as 'dev' | 'livekit',
      livekitCluster,
      onLog: (line) => {
        // Rebuilds and node verdicts always show; the rest with --verbose.
        if (verbose || /rebuilt|waiting for a node| -> (down|up|suspect)|unreachable|reachable again/.test(line))
          console.log(line);
      },
    });
  } catch (error) {
    console.error(`cluster: ${(error as Error).message}`);
    process.exit(1);
  }
  printLayout(stack);
  console.log(`\nopen ${stack.url} (every instance serves every session); commands: ${COMMANDS}`);

  runCommandLoop(
    () => stack.stop(),
    (line) => runCommand(stack, line),
  );
}

void main();

// Entry point of one media node process, started by the dev engine (../dev-engine.ts) in a media cluster.
import { MediaNode } from './media-node';
import { decodeNodeConfig, NODE_CONFIG_ENV, PORT_IN_USE_EXIT_CODE, READY_MARKER } from './node-config';

async function main(): Promise<void> {
  const config = decodeNodeConfig(process.env[NODE_CONFIG_ENV]);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const node = new MediaNode(config, log);
  try {
    await node.listen();
  } catch (error) {
    const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
    console.error(`cannot listen on port ${config.port}: ${(error as Error).message}`);
    process.exit(inUse ? PORT_IN_USE_EXIT_CODE : 1);
  }
  // The supervisor holds our stdin: when it goes away, so do we.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
  process.on('SIGTERM', () => {
    node.close();
    process.exit(0);
  });
  // werift reports some peer failures (a browser gone mid-handshake) as stray rejections; one peer's
  // trouble must not take the node's other rooms down with it.
  process.on('unhandledRejection', (reason) =>
    log(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`),
  );
  process.on('uncaughtException', (error) => log(`uncaught exception: ${error.stack ?? String(error)}`));
  log(READY_MARKER);
}

main().catch((error) => {
  console.error((error as Error).stack ?? String(error));
  process.exit(1);
});

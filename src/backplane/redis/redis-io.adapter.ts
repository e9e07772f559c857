import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import Redis from 'ioredis';
import type { Server } from 'socket.io';
import { connectRedis } from '../../common/redis-connection';
import { AppEvents } from '../../events/app-events';
import type { RedisTarget } from '../../config/redis-target';

/** How long closing waits for Redis to acknowledge QUIT. */
const QUIT_TIMEOUT_MS = 500;

/**
 * socket.io rooms shared through Redis pub/sub: a `rejoin` pushed by the instance that rebuilt a
 * session reaches its participants' sockets on every other instance. The pub/sub adapter (not the
 * streams one): a push is only useful now, and a participant whose instance died reconnects to
 * another and learns the current node from its HTTP rejoin, so nothing has to be replayed.
 */
export class RedisIoAdapter extends IoAdapter {
  private readonly clients: Redis[];

  constructor(
    private readonly app: INestApplicationContext,
    target: RedisTarget,
  ) {
    super(app);
    // The publisher auto-pipelines: a herd's pushes, a PUBLISH per participant issued in the same turn,
    // go out in one write instead of a write (a syscall) each (bench:scale, a herd of 1,000: 13% of the
    // pushing instance's profile samples in the 3 s after the kill).
    this.clients = [
      publishesHandled(
        unawaitedCommandsHandled(connectRedis(target, 'socket.io pub', { offlineQueue: true, autoPipelining: true })),
      ),
      unawaitedCommandsHandled(connectRedis(target, 'socket.io sub', { offlineQueue: true, autoPipelining: false })),
    ];
    this.announceResubscriptions(this.clients[1]!);
  }

  /**
   * Pub/sub delivers to whoever listens now: a push another instance published while this subscriber
   * was reconnecting reached none of this instance's sockets (a Redis restart: each connection comes
   * back on its own backoff, and another instance's store may be back, its herd rebuilt and pushed,
   * before this subscriber; seen in test/e2e/double-faults). Once the subscriber listens again, the
   * app is told, and sends each of its sockets the move it missed (SessionGateway).
   */
  private announceResubscriptions(sub: Redis): void {
    let connectedBefore = false;
    sub.on('ready', () => {
      if (!connectedBefore) {
        connectedBefore = true;
        return;
      }
      // ioredis sends the SUBSCRIBEs again right after 'ready', in the same turn: a PING queued after
      // them is answered once they are in force.
      setImmediate(() => {
        sub
          .ping()
          .then(() =>
            this.app.get(AppEvents, { strict: false }).emit('push-channel-restored', { channel: 'socket.io sub' }),
          )
          .catch(() => undefined); // dropped again: the next 'ready' announces it
      });
    });
  }

  // Typed through IoAdapter: @nestjs/platform-socket.io brings its own copy of socket.io.
  override createIOServer(
    port: number,
    options?: Parameters<IoAdapter['createIOServer']>[1],
  ): ReturnType<IoAdapter['createIOServer']> {
    const server = super.createIOServer(port, options) as Server;
    server.adapter(createAdapter(this.clients[0]!, this.clients[1]!));
    return server;
  }

  // After every server's close (Nest closes each gateway's, then disposes once). QUIT, not a plain
  // disconnect: the redis adapter's close sends UNSUBSCRIBEs without waiting for them, and a disconnect
  // failed them as unhandled rejections. A Redis that does not answer is not waited for.
  override async dispose(): Promise<void> {
    // Some of those are written a turn of the event loop later: QUIT goes after them.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(
      this.clients.map((client) =>
        Promise.race([client.quit(), new Promise((resolve) => setTimeout(resolve, QUIT_TIMEOUT_MS).unref())])
          .catch(() => undefined)
          .finally(() => client.disconnect()),
      ),
    );
  }
}

/**
 * The redis adapter issues SUBSCRIBE, PSUBSCRIBE and PUBLISH without waiting for them. While Redis is
 * unreachable they sit in the offline queue, and closing the connection fails them: each would be an
 * unhandled rejection, which ends a Node process (seen with sentinels that never answered, then a
 * shutdown). A failed one costs nothing (ioredis subscribes again when it reconnects; a push is only
 * useful now), so every command's promise gets a handler here; whoever awaits one still sees its error.
 * The subscriber goes without auto-pipelining: it hands back a promise of its own for each command
 * (PUNSUBSCRIBE included, which ioredis 5 forgets to exempt), out of reach of this handler; the
 * publisher's one such command, PUBLISH, is handled by publishesHandled.
 */
function unawaitedCommandsHandled(client: Redis): Redis {
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command, stream) => {
    command.promise.catch(() => undefined);
    return send(command, stream);
  };
  return client;
}

/**
 * With auto-pipelining, the promise `publish` hands back is the pipeline's, not the command's: it gets
 * its handler here (the adapter publishes without waiting); the adapter's requests that do wait for an
 * answer (PUBSUB NUMSUB) go through sendCommand, above.
 */
function publishesHandled(client: Redis): Redis {
  const publish = (channel: string | Buffer, message: string | Buffer): Promise<number> =>
    Redis.prototype.publish.call(client, channel, message);
  client.publish = (channel: string | Buffer, message: string | Buffer) => {
    const sent = publish(channel, message);
    sent.catch(() => undefined);
    return sent;
  };
  return client;
}

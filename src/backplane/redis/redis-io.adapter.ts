import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type Redis from 'ioredis';
import type { Server } from 'socket.io';
import { connectRedis } from '../../common/redis-connection';
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

  constructor(app: INestApplicationContext, target: RedisTarget) {
    super(app);
    this.clients = [
      connectRedis(target, 'socket.io pub', { offlineQueue: true }),
      connectRedis(target, 'socket.io sub', { offlineQueue: true }),
    ];
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

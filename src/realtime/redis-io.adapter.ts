import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type Redis from 'ioredis';
import { connectRedis } from '../sessions/store/redis-connection';

/**
 * socket.io rooms shared through Redis pub/sub: a `rejoin` pushed by the instance that rebuilt a
 * session reaches its participants' sockets on every other instance. The pub/sub adapter (not the
 * streams one): a push is only useful now, and a participant whose instance died reconnects to
 * another and learns the current node from its HTTP rejoin, so nothing has to be replayed.
 */
export class RedisIoAdapter extends IoAdapter {
  private readonly clients: Redis[];

  constructor(app: INestApplicationContext, redisUrl: string) {
    super(app);
    this.clients = [connectRedis(redisUrl, 'socket.io pub', { offlineQueue: true }), connectRedis(redisUrl, 'socket.io sub', { offlineQueue: true })];
  }

  // Typed through IoAdapter: @nestjs/platform-socket.io brings its own copy of socket.io.
  override createIOServer(port: number, options?: Parameters<IoAdapter['createIOServer']>[1]): ReturnType<IoAdapter['createIOServer']> {
    const server = super.createIOServer(port, options);
    server.adapter(createAdapter(this.clients[0]!, this.clients[1]!));
    return server;
  }

  override async close(server: Parameters<IoAdapter['close']>[0]): Promise<void> {
    await super.close(server);
    for (const client of this.clients) client.disconnect();
  }
}

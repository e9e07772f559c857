// Cluster mode (--livekit-redis) against LiveKit's registry as LiveKit writes it, in a real redis-server:
// node entries (protobuf livekit.Node) in `nodes`, rooms in `room_node_map`. The nodes are scripted (their
// probe answers and RoomService), so the spec decides who dies; test/media-cluster runs the real servers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type Redis from 'ioredis';
import type { NodeSummary, RejoinResponse } from '../../src/contracts';
import { encodeLiveKitNode } from '../../src/shared/livekit-node';
import { ScriptedNodes, startInProcessApp, type InProcessApp } from '../support/in-process-app';
import { startRedisServer, storeClient, type RedisServer } from '../support/redis-server';
import { api, connect, join, operatorApi } from '../support/session-client';
import { freePort } from '../../src/shared/ports';

const CLUSTER = 'ws://127.0.0.40:7880';
const A = { id: 'ND_aaaa', ip: '127.0.0.41', url: 'ws://127.0.0.41:7880' };
const B = { id: 'ND_bbbb', ip: '127.0.0.42', url: 'ws://127.0.0.42:7880' };

/** What a LiveKit node writes every 2 s: its entry in `nodes`. */
function register(redis: Redis, node: { id: string; ip: string }): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  return redis.hset('nodes', node.id, Buffer.from(encodeLiveKitNode({ ...node, startedAt: now, updatedAt: now })));
}

async function waitFor<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("cluster mode: LiveKit's registry in Redis, scripted nodes", () => {
  let redis: RedisServer;
  let livekit: Redis;
  let stack: InProcessApp;
  const nodes = () => operatorApi<NodeSummary[]>(stack.url, '/api/nodes').then((res) => res.body);

  beforeAll(async () => {
    redis = await startRedisServer();
    livekit = await storeClient(redis);
    await register(livekit, A);
    await register(livekit, B);
    await livekit.hset('nodes', 'ND_junk', 'not a protobuf entry');
    stack = await startInProcessApp({
      scripted: new ScriptedNodes([A.url, B.url, CLUSTER]),
      urls: [CLUSTER],
      args: ['--livekit-redis', redis.url],
    });
  });

  afterAll(async () => {
    await stack?.close();
    livekit?.disconnect();
    await redis?.close();
  });

  it('watches every registered node at its own address; an entry it cannot decode is skipped', async () => {
    const seen = await waitFor('both members up', nodes, (list) => list.filter((n) => n.status === 'up').length === 2);
    expect(seen.map((n) => [n.url, n.livekit]).sort()).toEqual([
      [A.url, { id: A.id, address: A.ip, registered: true }],
      [B.url, { id: B.id, address: B.ip, registered: true }],
    ]);
    const ready = await api<{ details: Record<string, { status: string }> }>(stack.url, 'GET', '/health/ready');
    expect([ready.status, ready.body.details['livekit-redis']?.status]).toEqual([200, 'up']);
  });

  it("a member's death: it leaves LiveKit's registry, its sessions are pushed the cluster URL; a false verdict costs one move", async () => {
    const ann = await join(stack.url, 'on-a', 'Ann');
    expect(ann.url).toBe(CLUSTER);
    await livekit.hset('room_node_map', 'on-a', A.id); // where LiveKit placed the room
    await waitFor('/api/nodes counts it on A', nodes, (list) => list.find((n) => n.url === A.url)?.sessions === 1);
    const socket = await connect(stack.url, ann);
    try {
      stack.nodes.state.set(A.url, 'refused');
      const moved = await socket.nextRejoin(2, 5_000);
      expect([moved.url, moved.reason]).toEqual([CLUSTER, 'node-down']);
      expect(await livekit.hexists('nodes', A.id)).toBe(0);
      expect(await livekit.hexists('nodes', B.id)).toBe(1);

      // A restarts: LiveKit draws it a new id at the same address.
      stack.nodes.state.set(A.url, 'up');
      await register(livekit, { id: 'ND_aaaa2', ip: A.ip });
      await waitFor('A back under its new id', nodes, (list) =>
        list.some((n) => n.url === A.url && n.status === 'up' && n.livekit?.id === 'ND_aaaa2'),
      );
      // LiveKit placed the room's next join on B. B then looks dead for a moment (a false verdict).
      await livekit.hset('room_node_map', 'on-a', B.id);
      stack.nodes.state.set(B.url, 'refused');
      expect((await socket.nextRejoin(3, 5_000)).url).toBe(CLUSTER);
      expect(await livekit.hexists('nodes', B.id)).toBe(0);
      stack.nodes.state.set(B.url, 'up');
      await register(livekit, B); // its next stats update (LiveKit writes them every 2 s)
      const back = await waitFor('B up and registered again', nodes, (list) =>
        list.some((n) => n.url === B.url && n.status === 'up' && n.livekit?.registered === true),
      );
      expect(back.find((n) => n.url === B.url)?.livekit?.id).toBe(B.id);
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(socket.rejoins.map((r) => r.generation)).toEqual([2, 3]); // one move for the false verdict, no more
    } finally {
      socket.close();
    }
  });
});

describe('cluster mode: a moved room LiveKit has not placed again', () => {
  let redis: RedisServer;
  let livekit: Redis;
  let stack: InProcessApp;

  beforeAll(async () => {
    redis = await startRedisServer();
    livekit = await storeClient(redis);
    await register(livekit, A);
    await register(livekit, B);
    stack = await startInProcessApp({
      scripted: new ScriptedNodes([A.url, B.url, CLUSTER]),
      urls: [CLUSTER],
      args: ['--livekit-redis', redis.url],
    });
  });

  afterAll(async () => {
    await stack?.close();
    livekit?.disconnect();
    await redis?.close();
  });

  // LiveKit rewrites room_node_map at the room's next join or CreateRoom; until then it names the dead
  // member. Here nobody joins (scripted nodes write no map), as while nginx still refuses every member.
  it('client reports while room_node_map still names the dead member: one move, not one per report', async () => {
    const ann = await join(stack.url, 'unplaced', 'Ann');
    const bob = await join(stack.url, 'unplaced', 'Bob');
    await livekit.hset('room_node_map', 'unplaced', A.id);
    await waitFor(
      'both members up',
      () => operatorApi<NodeSummary[]>(stack.url, '/api/nodes'),
      (res) => res.body.filter((n) => n.status === 'up').length === 2,
    );
    const socket = await connect(stack.url, bob);
    try {
      stack.nodes.state.set(A.url, 'refused');
      expect((await socket.nextRejoin(2, 5_000)).url).toBe(CLUSTER);
      expect(await livekit.hget('room_node_map', 'unplaced')).toBe(A.id);
      for (const who of [ann, bob, ann]) {
        const again = await api<RejoinResponse>(
          stack.url,
          'POST',
          `/api/sessions/unplaced/participants/${who.identity}/rejoin`,
          {
            rejoinKey: who.rejoinKey,
            failedUrl: CLUSTER,
          },
        );
        expect([again.status, again.body.url, again.body.generation]).toEqual([200, CLUSTER, 2]);
      }
      expect(socket.rejoins.map((r) => r.generation)).toEqual([2]);
    } finally {
      socket.close();
    }
  });
});

describe("cluster mode with LiveKit's Redis unreachable", () => {
  it('starts, and /health/ready answers 503 naming it', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const stack = await startInProcessApp({
      scripted: new ScriptedNodes([CLUSTER]),
      urls: [CLUSTER],
      args: ['--livekit-redis', url],
    });
    try {
      const ready = await api<{ details: Record<string, { status: string; message?: string }> }>(
        stack.url,
        'GET',
        '/health/ready',
      );
      expect(ready.status).toBe(503);
      expect(ready.body.details['livekit-redis']).toMatchObject({
        status: 'down',
        message: expect.stringContaining(url),
      });
    } finally {
      await stack.close();
    }
  });
});

import assert from 'node:assert/strict';
import { describe, expect, it } from '@jest/globals';
import { RoomServiceClient, TokenVerifier } from 'livekit-server-sdk';
import type { JoinResponse, RejoinResponse } from '../../src/contracts';
import { ENGINE_NAMES, ENGINES, type MediaEngine } from '../support/engines';
import { must } from '../support/must';
import { startRebuildStack, RebuildStack, type StackNode } from '../support/rebuild-stack';
import { api, connect, join, OPERATOR_HEADERS, operatorApi } from '../support/session-client';

async function withStack(
  engine: MediaEngine,
  nodes: number,
  fn: (stack: RebuildStack) => Promise<void>,
): Promise<void> {
  const stack = await startRebuildStack(nodes, { engine });
  try {
    await fn(stack);
  } catch (error) {
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n--- app output ---\n${stack.app.output().slice(-4000)}`,
      { cause: error },
    );
  } finally {
    await stack.close();
  }
}

function nodeAt(stack: RebuildStack, url: string): StackNode {
  return must(
    stack.nodes.find((n) => n.url === url),
    `a node at ${url}`,
  );
}

describe.each(ENGINES.map((engine) => [ENGINE_NAMES[engine], engine] as [string, MediaEngine]))(
  'session rebuild over real processes (%s)',
  (_name, engine) => {
    it('a killed node: every participant of its sessions gets a rejoin with a new url and generation', () =>
      withStack(engine, 2, async (stack) => {
        // Room settings count from an operator (or an auth token's claims), so the operator creates it.
        const ann = await join(
          stack.app.url,
          'standup',
          'Ann',
          { metadata: '{"role":"host"}', room: { metadata: 'daily', maxParticipants: 10 } },
          OPERATOR_HEADERS,
        );
        const bob = await join(stack.app.url, 'standup', 'Bob');
        const other = await join(stack.app.url, 'elsewhere', 'Cid');
        assert.equal(ann.url, bob.url, 'one session, one node');
        assert.notEqual(other.url, ann.url, 'a new session goes to the least-loaded node');
        assert.equal(ann.generation, 1);
        const connected = (p: JoinResponse) => connect(stack.app.url, p).then(stack.track);
        const [annSocket, bobSocket, otherSocket] = await Promise.all([
          connected(ann),
          connected(bob),
          connected(other),
        ]);

        await nodeAt(stack, ann.url).kill();

        const verifier = new TokenVerifier(stack.apiKey, stack.apiSecret);
        for (const [who, socket] of [
          [ann, annSocket],
          [bob, bobSocket],
        ] as const) {
          const rejoin = await socket.nextRejoin(2, 5000);
          assert.equal(rejoin.url, other.url, 'moved to the surviving node');
          assert.equal(rejoin.generation, 2);
          assert.equal(rejoin.reason, 'node-down');
          const claims = await verifier.verify(rejoin.token);
          assert.equal(claims.sub, who.identity, 'same identity');
          assert.equal(claims.name, who.name, 'same name');
          assert.equal(claims.video?.room, 'standup');
          assert.equal(claims.video?.roomJoin, true);
        }
        const annClaims = await verifier.verify((await annSocket.nextRejoin(2, 10)).token);
        assert.equal(annClaims.metadata, '{"role":"host"}', 'same metadata');
        assert.equal(otherSocket.rejoins.length, 0, 'a session on a healthy node is left alone');

        const nodes = await operatorApi<Array<{ url: string; status: string; reason: string; sessions: number }>>(
          stack.app.url,
          '/api/nodes',
        );
        const dead = nodes.body.find((n) => n.url === ann.url)!;
        assert.equal(dead.status, 'down');
        assert.match(dead.reason, /refused|reset/, 'a killed process refuses (or resets) connections');
        assert.equal(nodes.body.find((n) => n.url === other.url)!.sessions, 2);

        const sessions = await operatorApi<
          Array<{ sessionId: string; room: { metadata: string; maxParticipants: number }; generation: number }>
        >(stack.app.url, '/api/sessions');
        const standup = sessions.body.find((s) => s.sessionId === 'standup')!;
        expect([standup.generation, standup.room.metadata, standup.room.maxParticipants]).toEqual([2, 'daily', 10]); // room settings kept
        // On the node too: the pushed tokens carry them (roomConfig), and the CreateRoom that follows the
        // push creates the room with them when no participant got there first (none connects here).
        const newNode = new RoomServiceClient(other.url, stack.apiKey, stack.apiSecret);
        const deadline = Date.now() + 5_000;
        let room = (await newNode.listRooms(['standup']))[0];
        while (!room && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          room = (await newNode.listRooms(['standup']))[0];
        }
        expect([room?.metadata, room?.maxParticipants]).toEqual(['daily', 10]);
        const pushedClaims = await verifier.verify((await bobSocket.nextRejoin(2, 10)).token);
        expect(pushedClaims.roomConfig).toMatchObject({ metadata: 'daily', maxParticipants: 10 });
        assert.match(stack.app.output(), /session standup rebuilt in [\d.]+ ms/);
      }));

    it('a hung node (SIGSTOP: accepts, never answers) is caught by the probe timeout', () =>
      withStack(engine, 2, async (stack) => {
        const ann = await join(stack.app.url, 'hung', 'Ann');
        const socket = stack.track(await connect(stack.app.url, ann));
        const hosting = nodeAt(stack, ann.url);
        const stoppedAt = performance.now();
        await hosting.hang();
        const rejoin = await socket.nextRejoin(2, 6000);
        assert.equal(rejoin.reason, 'node-hung');
        assert.notEqual(rejoin.url, ann.url);
        assert.ok(
          rejoin.at - stoppedAt < 3000,
          `hung node detected in ${Math.round(rejoin.at - stoppedAt)} ms (limit 3000)`,
        );
      }));

    it('client report: rejoin with failedUrl answers the new node in the same request, media-lost moves the others', () =>
      withStack(engine, 2, async (stack) => {
        const ann = await join(stack.app.url, 'report', 'Ann');
        const bob = await join(stack.app.url, 'report', 'Bob');
        const bobSocket = stack.track(await connect(stack.app.url, bob));
        await nodeAt(stack, ann.url).kill();
        const res = await api<RejoinResponse>(
          stack.app.url,
          'POST',
          `/api/sessions/report/participants/${ann.identity}/rejoin`,
          {
            rejoinKey: ann.rejoinKey,
            failedUrl: ann.url,
          },
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.notEqual(res.body.url, ann.url);
        assert.equal(res.body.generation, 2);
        const pushed = await bobSocket.nextRejoin(2, 3000);
        assert.equal(pushed.url, res.body.url);
        assert.equal(pushed.generation, 2);
        // A second report for the same dead url changes nothing: one rebuild only.
        const again = await api<RejoinResponse>(
          stack.app.url,
          'POST',
          `/api/sessions/report/participants/${bob.identity}/rejoin`,
          {
            rejoinKey: bob.rejoinKey,
            failedUrl: ann.url,
          },
        );
        assert.equal(again.body.generation, 2);
        assert.equal((stack.app.output().match(/session report rebuilt/g) ?? []).length, 1, 'exactly one rebuild');
      }));

    it('media-lost over the socket triggers the probe at once', () =>
      withStack(engine, 2, async (stack) => {
        const ann = await join(stack.app.url, 'lost', 'Ann');
        const socket = stack.track(await connect(stack.app.url, ann));
        await nodeAt(stack, ann.url).kill();
        socket.socket.emit('media-lost', { url: ann.url });
        const rejoin = await socket.nextRejoin(2, 3000);
        assert.notEqual(rejoin.url, ann.url);
        assert.ok(['client-report', 'node-down'].includes(rejoin.reason), rejoin.reason);
      }));

    it('no node up: waiting-for-node, rejoin 503, then rebuilt as soon as a node comes back', () =>
      withStack(engine, 1, async (stack) => {
        const ann = await join(stack.app.url, 'alone', 'Ann');
        const socket = stack.track(await connect(stack.app.url, ann));
        await must(stack.nodes[0], 'the only node').kill();
        const waiting = await socket.nextWaiting(5000);
        assert.equal(waiting.generation, 1);
        const res = await api<{ statusCode: number; message: string }>(
          stack.app.url,
          'POST',
          `/api/sessions/alone/participants/${ann.identity}/rejoin`,
          {
            rejoinKey: ann.rejoinKey,
            failedUrl: ann.url,
          },
        );
        assert.equal(res.status, 503);
        assert.match(res.body.message, /no media node is up/);
        const fresh = await api(stack.app.url, 'POST', '/api/sessions/other/participants', { name: 'Zed' });
        assert.equal(fresh.status, 503, 'no node, no new session');

        await stack.restartNode(0);
        const rejoin = await socket.nextRejoin(2, 8000);
        assert.equal(rejoin.reason, 'node-recovered');
        assert.equal(rejoin.url, ann.url, 'the only node, back on the same url');
        const after = await api<RejoinResponse>(
          stack.app.url,
          'POST',
          `/api/sessions/alone/participants/${ann.identity}/rejoin`,
          { rejoinKey: ann.rejoinKey },
        );
        assert.equal(after.status, 200);
        assert.equal(after.body.generation, 2);
      }));
  },
);

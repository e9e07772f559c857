import assert from 'node:assert/strict';
import { expect, it } from '@jest/globals';
import { RoomServiceClient, TokenVerifier } from 'livekit-server-sdk';
import type { JoinResponse, NodeSummary, RejoinResponse } from '../../src/contracts';
import { describeEach } from '../support/each-topology';
import type { Topology } from '../support/engines';
import { must } from '../support/must';
import { startRebuildStack, RebuildStack } from '../support/rebuild-stack';
import { api, connect, join, OPERATOR_HEADERS, operatorApi } from '../support/session-client';

/** LiveKit's cluster re-creates a moved room on a live member at the backend's CreateRoom, right after the push. */
const ROOM_REPLACED_TIMEOUT_MS = 5_000;

async function withStack(topology: Topology, nodes: number, fn: (stack: RebuildStack) => Promise<void>): Promise<void> {
  const stack = await startRebuildStack(nodes, { engine: topology });
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

async function waitFor<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Independent nodes (either engine): the backend places each session on a node, and a move names
// another node's URL. LiveKit's own cluster: every session has the one cluster URL, LiveKit places the
// room on a member (room_node_map), and "the node" below is that member; a move names the cluster URL
// again, after the dead member left LiveKit's registry.
describeEach(['dev', 'livekit', 'livekit-cluster'] as const, 'session rebuild over real processes (%s)', (topology) => {
  const clustered = topology === 'livekit-cluster';
  /** The URL a move sends everyone to: `otherUrl` (independent nodes), or the cluster's one URL. */
  const movedUrl = (stack: RebuildStack, otherUrl: string) => stack.livekitCluster?.cluster.clusterUrl ?? otherUrl;
  /** In LiveKit's cluster: the dead member is out of LiveKit's registry, the others are still in it. */
  const expectRegistryWithout = async (stack: RebuildStack, deadName: string) => {
    const cluster = stack.livekitCluster;
    if (!cluster) return;
    const ids = await cluster.registeredIds();
    for (const member of cluster.cluster.nodes()) {
      const id = must(member.livekitNodeId, `${member.name}'s LiveKit id`);
      if (member.name === deadName) expect(ids).not.toContain(id);
      else expect(ids).toContain(id);
    }
  };

  it('a killed node: every participant of its sessions gets a rejoin with a new url and generation', () =>
    withStack(topology, 2, async (stack) => {
      // Room settings count from an operator (or an auth token's claims), so the operator creates it.
      const ann = await join(
        stack.app.url,
        'standup',
        'Ann',
        { metadata: '{"role":"host"}', room: { metadata: 'daily', maxParticipants: 10 } },
        OPERATOR_HEADERS,
      );
      const bob = await join(stack.app.url, 'standup', 'Bob');
      assert.equal(ann.url, bob.url, 'one session, one URL');
      assert.equal(ann.generation, 1);
      const host = await stack.hostOf('standup', ann.url);
      // A session on the other node. The backend places it by load; in LiveKit's cluster LiveKit picks a
      // member at random (its `any` selector), so sessions are opened until one lands elsewhere.
      let elsewhere: JoinResponse | undefined;
      for (let i = 0; i < 20 && !elsewhere; i++) {
        const candidate = await join(stack.app.url, `elsewhere-${i}`, 'Cid');
        if ((await stack.hostOf(candidate.sessionId, candidate.url)).name !== host.name) elsewhere = candidate;
        else assert.ok(clustered, 'a new session goes to the least-loaded node');
      }
      const other = must(elsewhere, 'a session on the other node');
      const survivor = await stack.hostOf(other.sessionId, other.url);
      const connected = (p: JoinResponse) => connect(stack.app.url, p).then(stack.track);
      const [annSocket, bobSocket, otherSocket] = await Promise.all([connected(ann), connected(bob), connected(other)]);

      await host.kill();

      const verifier = new TokenVerifier(stack.apiKey, stack.apiSecret);
      for (const [who, socket] of [
        [ann, annSocket],
        [bob, bobSocket],
      ] as const) {
        const rejoin = await socket.nextRejoin(2, 5000);
        assert.equal(rejoin.url, movedUrl(stack, other.url), 'moved to the surviving node');
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

      const nodes = await operatorApi<NodeSummary[]>(stack.app.url, '/api/nodes');
      const dead = must(
        nodes.body.find((n) => n.url === host.url),
        `${host.url} in /api/nodes`,
      );
      assert.equal(dead.status, 'down');
      assert.match(dead.reason, /refused|reset/, 'a killed process refuses (or resets) connections');
      await expectRegistryWithout(stack, host.name);

      const sessions = await operatorApi<
        Array<{ sessionId: string; room: { metadata: string; maxParticipants: number }; generation: number }>
      >(stack.app.url, '/api/sessions');
      const standup = sessions.body.find((s) => s.sessionId === 'standup')!;
      expect([standup.generation, standup.room.metadata, standup.room.maxParticipants]).toEqual([2, 'daily', 10]); // room settings kept
      // On the node too: the pushed tokens carry them (roomConfig), and the CreateRoom that follows the
      // push creates the room with them when no participant got there first (none connects here).
      // In LiveKit's cluster that CreateRoom goes through the one URL, and LiveKit re-creates the room
      // on the live member (room_node_map names it).
      if (stack.livekitCluster) {
        const cluster = stack.livekitCluster;
        await waitFor(
          `room_node_map names the live member ${survivor.name}`,
          async () => (await cluster.roomMember('standup', 0).catch(() => undefined))?.name,
          (name) => name === survivor.name,
          ROOM_REPLACED_TIMEOUT_MS,
        );
      }
      const newNode = new RoomServiceClient(movedUrl(stack, other.url), stack.apiKey, stack.apiSecret);
      const room = await waitFor(
        'the room on the new node',
        async () => (await newNode.listRooms(['standup']))[0],
        (found) => found !== undefined,
        ROOM_REPLACED_TIMEOUT_MS,
      );
      expect([room?.metadata, room?.maxParticipants]).toEqual(['daily', 10]);
      const pushedClaims = await verifier.verify((await bobSocket.nextRejoin(2, 10)).token);
      expect(pushedClaims.roomConfig).toMatchObject({ metadata: 'daily', maxParticipants: 10 });
      assert.match(stack.app.output(), /session standup rebuilt in [\d.]+ ms/);
    }));

  it('a hung node (SIGSTOP: accepts, never answers) is caught by the probe timeout', () =>
    withStack(topology, 2, async (stack) => {
      const ann = await join(stack.app.url, 'hung', 'Ann');
      const socket = stack.track(await connect(stack.app.url, ann));
      const hosting = await stack.hostOf('hung', ann.url);
      const stoppedAt = performance.now();
      await hosting.hang();
      const rejoin = await socket.nextRejoin(2, 6000);
      assert.equal(rejoin.reason, 'node-hung');
      if (clustered) assert.equal(rejoin.url, ann.url, 'the one cluster URL');
      else assert.notEqual(rejoin.url, ann.url);
      assert.ok(
        rejoin.at - stoppedAt < 3000,
        `hung node detected in ${Math.round(rejoin.at - stoppedAt)} ms (limit 3000)`,
      );
      await expectRegistryWithout(stack, hosting.name);
    }));

  it('client report: rejoin with failedUrl answers the new node in the same request, media-lost moves the others', () =>
    withStack(topology, 2, async (stack) => {
      const ann = await join(stack.app.url, 'report', 'Ann');
      const bob = await join(stack.app.url, 'report', 'Bob');
      const bobSocket = stack.track(await connect(stack.app.url, bob));
      const host = await stack.hostOf('report', ann.url);
      await host.kill();
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
      if (clustered) assert.equal(res.body.url, ann.url, 'the one cluster URL');
      else assert.notEqual(res.body.url, ann.url);
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
      await expectRegistryWithout(stack, host.name);
    }));

  it('media-lost over the socket triggers the probe at once', () =>
    withStack(topology, 2, async (stack) => {
      const ann = await join(stack.app.url, 'lost', 'Ann');
      const socket = stack.track(await connect(stack.app.url, ann));
      await (await stack.hostOf('lost', ann.url)).kill();
      socket.socket.emit('media-lost', { url: ann.url });
      const rejoin = await socket.nextRejoin(2, 3000);
      if (clustered) assert.equal(rejoin.url, ann.url, 'the one cluster URL');
      else assert.notEqual(rejoin.url, ann.url);
      assert.ok(['client-report', 'node-down'].includes(rejoin.reason), rejoin.reason);
    }));

  // LiveKit's cluster with 2 members, both killed: the cluster URL is down once every member is.
  it('no node up: waiting-for-node, rejoin 503, then rebuilt as soon as a node comes back', () =>
    withStack(topology, clustered ? 2 : 1, async (stack) => {
      const ann = await join(stack.app.url, 'alone', 'Ann');
      const socket = stack.track(await connect(stack.app.url, ann));
      for (const node of stack.nodes) await node.kill();
      const waiting = await socket.nextWaiting(5000);
      // In LiveKit's cluster the first member's herd may move the session to the cluster URL before the
      // last member dies (the kills are milliseconds apart): it then waits at generation 2.
      if (clustered)
        assert.ok(waiting.generation === 1 || waiting.generation === 2, `generation ${waiting.generation}`);
      else assert.equal(waiting.generation, 1);
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
      const rejoin = await socket.nextRejoin(waiting.generation + 1, 8000);
      assert.equal(rejoin.reason, 'node-recovered');
      assert.equal(rejoin.url, ann.url, 'the only node (or the cluster), back on the same url');
      const after = await api<RejoinResponse>(
        stack.app.url,
        'POST',
        `/api/sessions/alone/participants/${ann.identity}/rejoin`,
        { rejoinKey: ann.rejoinKey },
      );
      assert.equal(after.status, 200);
      assert.equal(after.body.generation, waiting.generation + 1);
      if (stack.livekitCluster) {
        // The member is back under a new id, and the dead ones (the other stays dead) are out of LiveKit's registry.
        const back = must(stack.livekitCluster.cluster.nodes()[0], 'the restarted member');
        expect(await stack.livekitCluster.registeredIds()).toEqual([back.livekitNodeId]);
      }
    }));
});

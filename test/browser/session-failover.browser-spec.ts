// The product's promise, checked in real Chromium against the real backend and 3 media nodes, on the dev
// cluster, on the real LiveKit server, and on LiveKit's own cluster (3 members behind one URL):
// when the media node under a session dies or hangs, every participant decodes the others again, in the
// same session, on another node, without touching the page.
import assert from 'node:assert/strict';
import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { describeEach } from '../support/each-topology';
import { startFailoverStack, type FailoverStack } from '../support/failover-stack';
import { must } from '../support/must';
import { operatorApi } from '../support/session-client';
import {
  expectEveryoneSeesEveryone,
  joinThroughPage,
  sleep,
  waitForMove,
  waitForMoveAway,
  type Participant,
} from '../support/participant-page';

/** With every node dead, the overlay says so within this (probe verdict + one rejoin attempt). */
const WAITING_FOR_NODE_TIMEOUT_MS = 10_000;
/** Everyone decodes again within this after a node comes back (backoff is capped at 5 s). */
const BACK_AFTER_RESTART_TIMEOUT_MS = 25_000;

describeEach(
  ['dev', 'livekit', 'livekit-cluster'] as const,
  'session failover in Chromium (3 nodes, %s)',
  (topology) => {
    const clustered = topology === 'livekit-cluster';
    let stack: FailoverStack;
    let open: Participant[] = [];
    let sessionCounter = 0;

    const newSessionId = () => `browser-${process.pid}-${++sessionCounter}`;
    const join = async (sessionId: string, names: string[]) => {
      const joined: Participant[] = [];
      for (const name of names) {
        // One after another: two cold pages at once on 2 cores only slow both down.
        const participant = await joinThroughPage(stack.chromium.browser, stack.app.url, sessionId, name);
        open.push(participant);
        joined.push(participant);
      }
      return joined;
    };
    const urlsOf = async (participants: Participant[]) =>
      Promise.all(participants.map(async (p) => (await p.snapshot()).url!));
    /** Where the session is now (its URL and generation, the same for everyone), and the node holding its room. */
    const placement = async (sessionId: string, participants: Participant[]) => {
      const snaps = await Promise.all(participants.map((p) => p.snapshot()));
      const url = must(snaps[0]?.url, 'a URL');
      const generation = must(snaps[0]?.generation, 'a generation');
      assert.deepEqual(
        snaps.map((snap) => [snap.url, snap.generation]),
        snaps.map(() => [url, generation]),
        'everyone on one placement',
      );
      return { url, generation, host: await stack.hostOf(sessionId, url) };
    };
    /** A failure with what the backend said, and (LiveKit's cluster) where room_node_map puts the room. */
    const explained = async (error: unknown, sessionId: string) => {
      const mapped = clustered
        ? `\nroom_node_map: ${await stack.livekitCluster!.roomMemberId(sessionId)}; members: ${JSON.stringify(stack.cluster.nodes().map((n) => [n.name, n.livekitNodeId, n.state]))}`
        : '';
      return new Error(
        `${error instanceof Error ? error.message : String(error)}${mapped}\n--- app output ---\n${stack.app.output().slice(-6000)}`,
        { cause: error },
      );
    };
    /**
     * Everyone moves once, off the dead node: to another node's URL, or (LiveKit's cluster) to the one URL
     * again, with the dead member out of LiveKit's registry. Then everyone decodes everyone. Logs kill ->
     * video per participant (the page's first frame from every other participant after the move).
     */
    const expectMovedOff = async (
      sessionId: string,
      people: Participant[],
      from: { url: string; generation: number },
      dead: { livekitNodeId?: string },
      killedAt: number,
      what: string,
    ) => {
      try {
        await waitForMove(people, from, clustered ? from.url : undefined);
        await expectEveryoneSeesEveryone(people);
      } catch (error) {
        throw await explained(error, sessionId);
      }
      if (clustered) expect(await stack.livekitCluster!.registeredIds()).not.toContain(dead.livekitNodeId);
      // Per participant: its own detection (or the push), its new token, and every other one's video, after the fault.
      const back = await Promise.all(
        people.map(async (p) => {
          const move = (await p.snapshot()).moves.find((m) => m.generation === from.generation + 1);
          const after = (at: number | undefined) => (at === undefined ? 'n/a' : `${Math.round(at - killedAt)}`);
          return `${after(move?.detectedAt)}/${after(move?.tokenAt)}/${after(move?.allFramesAt)} ms`;
        }),
      );
      console.log(`${stack.topology}: ${what} -> detected/token/video back: ${back.join(', ')}`);
    };

    beforeAll(async () => {
      stack = await startFailoverStack(3, { engine: topology });
    });

    afterEach(async () => {
      await Promise.all(open.map((p) => p.close()));
      open = [];
      await stack.healAll();
    });

    afterAll(async () => {
      await Promise.all(open.map((p) => p.close()));
      await stack?.stop();
    });

    it('SIGKILL of the hosting node: both participants decode each other again on another node', async () => {
      const sessionId = newSessionId();
      const people = await join(sessionId, ['Ada', 'Grace']);
      await expectEveryoneSeesEveryone(people);
      const before = await placement(sessionId, people);

      const killedAt = Date.now();
      await stack.cluster.kill(before.host.name);
      await expectMovedOff(sessionId, people, before, before.host, killedAt, 'SIGKILL');

      for (const p of people) {
        const snap = await p.snapshot();
        assert.equal(snap.sessionId, sessionId);
        assert.equal(snap.state, 'connected');
      }
      const after = await placement(sessionId, people);
      assert.notEqual(after.host.name, before.host.name, 'the room is on another node');
    });

    it('SIGSTOP of the hosting node (hung): everyone moves through the backend probes', async () => {
      const sessionId = newSessionId();
      const people = await join(sessionId, ['Ada', 'Grace']);
      await expectEveryoneSeesEveryone(people);
      const before = await placement(sessionId, people);

      const stoppedAt = Date.now();
      await stack.cluster.hang(before.host.name);
      await expectMovedOff(sessionId, people, before, before.host, stoppedAt, 'SIGSTOP');

      const after = await placement(sessionId, people);
      assert.notEqual(after.host.name, before.host.name, 'the room is on another node');
    });

    // Twice in a row, LiveKit's cluster included: its SelectRoomNode (pkg/service/roomallocator.go,
    // v1.13.5) takes no lock, and when the backend's CreateRoom followed the push, the participants' joins
    // and that CreateRoom each picked a member, the last HSET of room_node_map winning: both participants
    // on node-2 while the map named node-3 with an empty room, and nobody moved when node-3 died. In the
    // cluster the backend now places the room before it pushes.
    it('a session whose new node dies too moves again', async () => {
      const sessionId = newSessionId();
      const people = await join(sessionId, ['Ada', 'Grace']);
      await expectEveryoneSeesEveryone(people);
      const first = await placement(sessionId, people);

      let killedAt = Date.now();
      await stack.cluster.kill(first.host.name);
      await expectMovedOff(sessionId, people, first, first.host, killedAt, 'first SIGKILL');
      const second = await placement(sessionId, people);
      assert.notEqual(second.host.name, first.host.name);

      killedAt = Date.now();
      await stack.cluster.kill(second.host.name);
      await expectMovedOff(sessionId, people, second, second.host, killedAt, 'second SIGKILL');
      const last = await placement(sessionId, people);
      assert.ok(
        ![first.host.name, second.host.name].includes(last.host.name),
        `not on the last node: ${last.host.name}`,
      );
      for (const p of people) {
        const generations = (await p.snapshot()).moves.filter((m) => m.outcome === 'done').map((m) => m.generation);
        expect(generations).toEqual([first.generation + 1, first.generation + 2]);
      }
    });

    it('every node dead: the overlay says it waits for a media node; one restart brings everyone back', async () => {
      const sessionId = newSessionId();
      const people = await join(sessionId, ['Ada', 'Grace']);
      await expectEveryoneSeesEveryone(people);
      const before = await placement(sessionId, people);

      // The session's node last: killed first, it would move once to a node about to die.
      const others = stack.cluster.nodes().filter((node) => node.name !== before.host.name);
      for (const node of [...others, before.host]) await stack.cluster.kill(node.name);
      await Promise.all(
        people.map(async (p) => {
          await p.page.waitForSelector('[data-testid="overlay"][data-state="waiting-for-node"]', {
            timeout: WAITING_FOR_NODE_TIMEOUT_MS,
          });
          assert.match((await p.page.textContent('[data-testid="overlay"]')) ?? '', /waiting for a media node/i);
        }),
      ).catch(async (error: unknown) => {
        throw await explained(error, sessionId);
      });

      const restarted = must(others[0], 'another node');
      const restartedAt = Date.now();
      await stack.cluster.restart(restarted.name);
      await expectEveryoneSeesEveryone(people, BACK_AFTER_RESTART_TIMEOUT_MS);
      for (const p of people) assert.equal(await p.overlayState(), 'connected');
      const after = await placement(sessionId, people);
      assert.equal(after.host.name, restarted.name, 'on the node that came back');
      assert.ok(after.generation > before.generation, 'moved, out of waiting for a node');
      if (clustered) assert.equal(after.url, before.url, 'the one cluster URL');
      console.log(
        `${stack.topology}: restart of ${restarted.name} -> video back in ${Date.now() - restartedAt} ms (at most)`,
      );
    });

    // Placement and presence, not a crash: on independent nodes only. In LiveKit's cluster LiveKit places
    // rooms (at random among its members), and the e2e rebuild spec checks there that a session on
    // another member is left alone; these two stay out of the cluster's run to keep npm test short.
    if (!clustered) {
      // First, while the cluster is empty: placement is least-loaded, so the two sessions land on different nodes.
      it('two sessions on different nodes: killing one node moves only its session; the other never blinks', async () => {
        const red = await join(newSessionId(), ['Red-1', 'Red-2']);
        const blue = await join(newSessionId(), ['Blue-1', 'Blue-2']);
        await expectEveryoneSeesEveryone(red);
        await expectEveryoneSeesEveryone(blue);
        const [redUrl] = await urlsOf(red);
        const [blueUrl] = await urlsOf(blue);
        assert.notEqual(redUrl, blueUrl, 'placement put both sessions on one node');
        const blueBefore = await Promise.all(blue.map((p) => p.framesDecoded()));

        await stack.cluster.kill(stack.node(redUrl!).name);
        await waitForMoveAway(red, redUrl!);
        await expectEveryoneSeesEveryone(red);

        for (const [i, p] of blue.entries()) {
          const snap = await p.snapshot();
          assert.equal(snap.url, blueUrl);
          assert.equal(snap.state, 'connected');
          assert.equal(snap.moves.length, 0, `${p.name} moved: ${JSON.stringify(snap.moves)}`);
          // The same receivers kept counting: no reconnect, no new room, no gap in decoding.
          const after = await p.framesDecoded();
          assert.ok(Object.keys(blueBefore[i]!).length > 0, `${p.name} decoded nobody before the kill`);
          for (const [identity, before] of Object.entries(blueBefore[i]!)) {
            assert.ok((after[identity] ?? 0) > before, `${p.name} stopped decoding ${identity}`);
          }
        }
        await expectEveryoneSeesEveryone(blue);
      });

      it('a participant who closes the tab is seen leaving and is not invited back by a later rebuild', async () => {
        const sessionId = newSessionId();
        const [ada, grace, linus] = await join(sessionId, ['Ada', 'Grace', 'Linus']);
        await expectEveryoneSeesEveryone([ada!, grace!, linus!]);
        const linusId = await linus!.identity();

        await linus!.page.close({ runBeforeUnload: true });
        for (const p of [ada!, grace!]) {
          await p.page.waitForSelector(`[data-testid="tile"][data-identity="${linusId}"]`, {
            state: 'detached',
            timeout: 10_000,
          });
        }

        const [hostUrl] = await urlsOf([ada!]);
        await stack.cluster.kill(stack.node(hostUrl!).name);
        await waitForMoveAway([ada!, grace!], hostUrl!);
        await expectEveryoneSeesEveryone([ada!, grace!]);
        await sleep(1_000);
        for (const p of [ada!, grace!]) {
          assert.equal(
            await p.page.locator(`[data-testid="tile"][data-identity="${linusId}"]`).count(),
            0,
            `${p.name} shows Linus again`,
          );
          assert.ok(!(linusId in (await p.framesDecoded())), `${p.name}'s new room has Linus in it`);
        }
        const sessions = (
          await operatorApi<Array<{ sessionId: string; participants: Array<{ identity: string; state: string }> }>>(
            stack.app.url,
            '/api/sessions',
          )
        ).body;
        const linusRecord = sessions
          .find((s) => s.sessionId === sessionId)
          ?.participants.find((p) => p.identity === linusId);
        assert.ok(
          !linusRecord || linusRecord.state === 'left',
          `backend still counts Linus: ${JSON.stringify(linusRecord)}`,
        );
      });
    }
  },
);

// The product's promise, checked in real Chromium against the real backend and 3 media nodes, on the dev
// cluster and on the real LiveKit server:
// when the media node under a session dies or hangs, every participant decodes the others again, in the
// same session, on another node, without touching the page.
import assert from 'node:assert/strict';
import { afterAll, afterEach, beforeAll, describe, it } from '@jest/globals';
import { ENGINE_NAMES, ENGINES, type MediaEngine } from '../support/engines';
import { startFailoverStack, type FailoverStack } from '../support/failover-stack';
import { operatorApi } from '../support/session-client';
import {
  expectEveryoneSeesEveryone,
  joinThroughPage,
  sleep,
  waitForMoveAway,
  type Participant,
} from '../support/participant-page';

/** With every node dead, the overlay says so within this (probe verdict + one rejoin attempt). */
const WAITING_FOR_NODE_TIMEOUT_MS = 10_000;
/** Everyone decodes again within this after a node comes back (backoff is capped at 5 s). */
const BACK_AFTER_RESTART_TIMEOUT_MS = 25_000;

describe.each(ENGINES.map((engine) => [ENGINE_NAMES[engine], engine] as [string, MediaEngine]))(
  'session failover in Chromium (3 nodes, %s)',
  (_name, engine) => {
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

    beforeAll(async () => {
      stack = await startFailoverStack(3, { engine });
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

    it('SIGKILL of the hosting node: both participants decode each other again on another node', async () => {
      const sessionId = newSessionId();
      const people = await join(sessionId, ['Ada', 'Grace']);
      await expectEveryoneSeesEveryone(people);
      const [hostUrl] = await urlsOf(people);

      await stack.cluster.kill(stack.node(hostUrl!).name);
      await waitForMoveAway(people, hostUrl!);
      await expectEveryoneSeesEveryone(people);

      for (const p of people) {
        const snap = await p.snapshot();
        assert.equal(snap.sessionId, sessionId);
        assert.notEqual(snap.url, hostUrl, `${p.name} is still on the killed node`);
        assert.equal(snap.state, 'connected');
      }
      assert.equal(new Set(await urlsOf(people)).size, 1, 'both participants landed on the same node');
    });

    it('SIGSTOP of the hosting node (hung): everyone moves through the backend probes', async () => {
      const people = await join(newSessionId(), ['Ada', 'Grace']);
      await expectEveryoneSeesEveryone(people);
      const [hostUrl] = await urlsOf(people);

      await stack.cluster.hang(stack.node(hostUrl!).name);
      await waitForMoveAway(people, hostUrl!);
      await expectEveryoneSeesEveryone(people);

      const urls = await urlsOf(people);
      assert.ok(
        urls.every((url) => url !== hostUrl),
        `someone is still on the hung node: ${urls.join(', ')}`,
      );
      assert.equal(new Set(urls).size, 1);
    });

    it('a session whose new node dies too moves again', async () => {
      const people = await join(newSessionId(), ['Ada', 'Grace']);
      await expectEveryoneSeesEveryone(people);
      const [firstUrl] = await urlsOf(people);

      await stack.cluster.kill(stack.node(firstUrl!).name);
      await waitForMoveAway(people, firstUrl!);
      await expectEveryoneSeesEveryone(people);
      const [secondUrl] = await urlsOf(people);
      assert.notEqual(secondUrl, firstUrl);

      await stack.cluster.kill(stack.node(secondUrl!).name);
      await waitForMoveAway(people, secondUrl!);
      await expectEveryoneSeesEveryone(people);
      const finalUrls = await urlsOf(people);
      assert.ok(
        finalUrls.every((url) => url !== firstUrl && url !== secondUrl),
        `not on the last node: ${finalUrls.join(', ')}`,
      );
      for (const p of people) {
        const generations = (await p.snapshot()).moves.filter((m) => m.outcome === 'done').map((m) => m.generation);
        assert.ok(generations.length >= 2, `${p.name} made ${generations.length} completed moves`);
      }
    });

    it('every node dead: the overlay says it waits for a media node; one restart brings everyone back', async () => {
      const people = await join(newSessionId(), ['Ada', 'Grace']);
      await expectEveryoneSeesEveryone(people);

      for (const node of stack.cluster.nodes()) await stack.cluster.kill(node.name);
      await Promise.all(
        people.map(async (p) => {
          await p.page.waitForSelector('[data-testid="overlay"][data-state="waiting-for-node"]', {
            timeout: WAITING_FOR_NODE_TIMEOUT_MS,
          });
          assert.match((await p.page.textContent('[data-testid="overlay"]')) ?? '', /waiting for a media node/i);
        }),
      );

      await stack.cluster.restart(stack.cluster.nodes()[1]!.name);
      await expectEveryoneSeesEveryone(people, BACK_AFTER_RESTART_TIMEOUT_MS);
      for (const p of people) assert.equal(await p.overlayState(), 'connected');
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
  },
);

// Faults a process on a healthy machine cannot show, on both engines, with real Chromium participants:
// every media node runs on a machine of its own (a network namespace joined to the host by a veth pair,
// see test/support/netns.ts). The machine vanishes: its link goes down, nothing answers and nothing resets.
// Its media path breaks: nftables in the namespace drops its UDP (ICE, DTLS, RTP) while its signal port
// still answers the backend's probes; only the participants can tell, and their reports move the session.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ENGINE_NAMES, ENGINES, type MediaEngine } from '../support/engines';
import { startNetnsStack, type NetnsStack } from '../support/netns-stack';
import {
  expectEveryoneSeesEveryone,
  joinThroughPage,
  waitForMove,
  type Participant,
} from '../support/participant-page';

/** Longer than the backend's probe timeout: a probe that gets no answer in this gets none. */
const SILENCE_MS = 1_500;
/**
 * Fault -> every participant connected elsewhere. Vanished: the probes' verdict (about 1.5 s) and a
 * move. Broken media path: the browsers notice their path silent (1 s, and the node still answering
 * HTTP: about 1.5 s), then the reports' quorum and a move.
 */
const MOVE_TIMEOUT_MS = 12_000;

/** `GET /` as the backend probes a node: 'ok', 'timeout', or what else happened. */
async function probe(url: string, timeoutMs = SILENCE_MS): Promise<string> {
  try {
    const response = await fetch(`${url.replace(/^ws/, 'http')}/`, { signal: AbortSignal.timeout(timeoutMs) });
    return response.status === 200 ? 'ok' : `HTTP ${response.status}`;
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return 'timeout';
    const cause = (error as { cause?: { code?: string } }).cause;
    return cause?.code ?? String(error);
  }
}

describe.each(ENGINES.map((engine) => [ENGINE_NAMES[engine], engine] as [string, MediaEngine]))(
  'media nodes on machines of their own (%s)',
  (_name, engine) => {
    let stack: NetnsStack;
    const people: Participant[] = [];

    beforeAll(async () => {
      stack = await startNetnsStack(engine, 2, { verbose: process.env.NETNS_VERBOSE === '1' });
    });

    afterAll(async () => {
      await Promise.all(people.map((p) => p.close()));
      await stack?.stop();
    });

    /** Two participants decoding each other on their session's node, and that node. */
    async function sessionOnOneMachine(sessionId: string) {
      await Promise.all(people.splice(0).map((p) => p.close()));
      await stack.healAll();
      people.push(await joinThroughPage(stack.chromium.browser, stack.app.url, sessionId, 'Ann'));
      people.push(await joinThroughPage(stack.chromium.browser, stack.app.url, sessionId, 'Bob'));
      await expectEveryoneSeesEveryone(people);
      const snap = await people[0]!.snapshot();
      expect((await people[1]!.snapshot()).url).toBe(snap.url);
      // On a machine of its own: the node's address is its namespace's, not the host's loopback.
      expect(snap.url).toMatch(/^ws:\/\/10\.77\.\d+\.2:7880$/);
      return { from: { url: snap.url!, generation: snap.generation! }, node: stack.node(snap.url!) };
    }

    /** Everyone on the next placement, off `from`, decoding everyone again; the pages' logs when not. */
    async function moved(from: { url: string; generation: number }): Promise<void> {
      try {
        await waitForMove(people, from, undefined, MOVE_TIMEOUT_MS);
        await expectEveryoneSeesEveryone(people);
      } catch (error) {
        const pages = await Promise.all(people.map(async (p) => `${p.name}: ${await p.describe()}`));
        throw new Error(`${(error as Error).message}\n${pages.join('\n')}`, { cause: error });
      }
    }

    it('the machine vanishes (link down, no reset): everyone is moved and decodes everyone again', async () => {
      const { from, node } = await sessionOnOneMachine(`vanish-${engine}-${process.pid}`);
      stack.cluster.inject(node.name, 'vanish');
      // Nothing answers and nothing resets: the process runs on, its probe just times out.
      expect(await probe(node.url)).toBe('timeout');
      expect(stack.node(node.url).state).toBe('running');

      await moved(from);
      const status = (await stack.nodeStatus()).find((s) => s.url === node.url);
      expect(status?.status).not.toBe('up');
    });

    it("its media path breaks while it answers its probes: the participants' reports move the session", async () => {
      const { from, node } = await sessionOnOneMachine(`media-path-${engine}-${process.pid}`);
      const since = Date.now();
      stack.cluster.inject(node.name, 'media-path');
      expect(await probe(node.url)).toBe('ok');

      await moved(from);
      // The signal and the probes were fine throughout: the browsers saw their media die and said so.
      for (const p of people) {
        const move = (await p.snapshot()).moves.find((m) => m.detectedAt >= since);
        assert.ok(move, `${p.name} made no move after the fault`);
        expect(['media-lost', 'server:media-path']).toContain(move.trigger);
      }
      // Reported by the quick rule: silent while the node still answered HTTP (the page's own fetch of it).
      const reports = (await Promise.all(people.map((p) => p.logs())))
        .flat()
        .filter((line) => line.at >= since && line.message.startsWith('media path lost'));
      assert.ok(reports.length > 0, 'no page reported its media path lost');
      expect(reports.map((line) => line.message).join('\n')).toMatch(/while the node answers HTTP/);
      expect(await probe(node.url)).toBe('ok');
      const status = (await stack.nodeStatus()).find((s) => s.url === node.url);
      expect(status).toMatchObject({ status: 'up' });
      expect(status?.failingForClients?.reason).toMatch(/lost their media path/);
    });
  },
);

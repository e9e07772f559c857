// The sample app on the package's public API, through a SIGKILL of the session's node, on both engines:
// an app written against ResilientRoom's events sees no duplicate and no phantom departure; numbered
// reliable messages sent every 50 ms arrive exactly once and in order; a chat line typed during the move
// arrives after it, marked delayed; the screen share and an app track are received again; send()'s bad
// input is refused with a clear error. One session, one kill per engine.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { clientDist } from '../support/client-dist';
import {
  startEmbeddedAppStack,
  logMoveTimings,
  moveTimingRow,
  type EmbeddedAppStack,
} from '../support/embedded-app-stack';
import { ENGINE_NAMES, ENGINES, type MediaEngine } from '../support/engines';
import {
  expectEveryoneSeesEveryone,
  joinThroughPage,
  sleep,
  waitForMoveAway,
  type Participant,
} from '../support/participant-page';

/** The sender's cadence, as the issue puts it. */
const SEND_EVERY_MS = 50;
/** Messages go on for this long on the new node, so the resends and new messages interleave. */
const SEND_AFTER_MOVE_MS = 1_500;
/** Every message (resends included) is at the receiver within this after the sender stopped. */
const DELIVERY_TIMEOUT_MS = 15_000;
/** A leave() is heard as a departure within this (a bye: at once; the grace alone is 2 s). */
const DEPARTURE_TIMEOUT_MS = 5_000;

interface HookEvent {
  at: number;
  name: string;
  identity?: string;
  source?: string;
  trackName?: string;
}
interface HookMessage {
  from?: string;
  topic?: string;
  text?: string;
  delayed: boolean;
}
interface Hook {
  state: string;
  events: HookEvent[];
  received: HookMessage[];
  dataPeers: string[];
  queuedMessages: number;
  remotePublications: Array<{ identity: string; source: string; muted: boolean }>;
  moves: Array<{
    detectedAt: number;
    tokenAt?: number;
    connectedAt?: number;
    publishedAt?: number;
    firstFrameAt?: number;
    allFramesAt?: number;
    outcome?: string;
  }>;
  trackFrames(): Promise<Array<{ identity: string; source: string; trackName: string; framesDecoded: number }>>;
  send(
    payload: string,
    options?: { topic?: string; reliable?: boolean },
  ): Promise<{ ok: boolean; code?: string; message?: string }>;
  publishTestPattern(name: string): Promise<void>;
}
// Only ever read inside page.evaluate(), i.e. in the browser.
interface PageElement {
  getAttribute(name: string): string | null;
}
declare const document: { querySelector<T = PageElement>(selector: string): T | null };
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: PageElement, options: { attributes: boolean; attributeFilter: string[] }): void;
  disconnect(): void;
}
declare const window: {
  __sessionRebuilder: Hook;
  __sequence?: { sent: number; failures: string[]; timer?: ReturnType<typeof setInterval> };
};

const hook = (p: Participant) => ({
  events: () => p.page.evaluate(() => window.__sessionRebuilder.events),
  received: (topic: string) =>
    p.page.evaluate((t) => window.__sessionRebuilder.received.filter((m) => m.topic === t), topic),
  dataPeers: () => p.page.evaluate(() => window.__sessionRebuilder.dataPeers),
  microphoneOf: (identity: string) =>
    p.page.evaluate(
      (id) =>
        window.__sessionRebuilder.remotePublications.find((pub) => pub.identity === id && pub.source === 'microphone'),
      identity,
    ),
  trackFrames: () => p.page.evaluate(() => window.__sessionRebuilder.trackFrames()),
  send: (payload: string, options?: { topic?: string }) =>
    p.page.evaluate(([text, o]) => window.__sessionRebuilder.send(text, o), [payload, options] as const),
});

/** Frames of `from`'s tracks with these names (app tracks) or sources rise at `who`. */
async function waitForTracks(
  who: Participant,
  publisher: Participant,
  from: string,
  wanted: string[],
  timeoutMs = 15_000,
): Promise<void> {
  const key = (t: { trackName: string; source: string }) => (wanted.includes(t.trackName) ? t.trackName : t.source);
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const first = (await hook(who).trackFrames()).filter((t) => t.identity === from);
    await sleep(400);
    const second = (await hook(who).trackFrames()).filter((t) => t.identity === from);
    last = second;
    const rising = wanted.every((name) => {
      const before = first.find((t) => key(t) === name)?.framesDecoded ?? 0;
      const after = second.find((t) => key(t) === name)?.framesDecoded ?? 0;
      return before > 0 && after > before;
    });
    if (rising) return;
  }
  throw new Error(
    `${who.name}: ${wanted.join(', ')} from ${from} not rising: ${JSON.stringify(last)}\n${await publisher.describe()}\n${await who.describe()}`,
  );
}

/** `who` sees `from`'s microphone published on its current node with this mute state. */
async function waitForMicrophone(who: Participant, from: string, muted: boolean, timeoutMs = 10_000): Promise<void> {
  let last: unknown;
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
    last = await hook(who).microphoneOf(from);
    if ((last as { muted?: boolean } | undefined)?.muted === muted) return;
  }
  throw new Error(`${who.name}: ${from}'s microphone is not ${muted ? 'muted' : 'unmuted'}: ${JSON.stringify(last)}`);
}

/** Per track (who, source, name): subscribed and unsubscribed alternate, starting and ending subscribed. */
function assertTrackEventsPaired(who: string, events: HookEvent[]): void {
  const byTrack = new Map<string, string[]>();
  for (const e of events.filter((e) => e.name === 'trackSubscribed' || e.name === 'trackUnsubscribed')) {
    const key = `${e.identity}|${e.source}|${e.trackName}`;
    byTrack.set(key, [...(byTrack.get(key) ?? []), e.name]);
  }
  for (const [key, names] of byTrack) {
    names.forEach((name, i) =>
      assert.equal(name, i % 2 === 0 ? 'trackSubscribed' : 'trackUnsubscribed', `${who}: ${key}: ${names.join(', ')}`),
    );
    assert.equal(names.at(-1), 'trackSubscribed', `${who}: ${key} ends unsubscribed: ${names.join(', ')}`);
  }
}

describe.each(ENGINES.map((engine) => [ENGINE_NAMES[engine], engine] as [string, MediaEngine]))(
  'ResilientRoom in the sample app through a SIGKILL (%s)',
  (_name, engine) => {
    let stack: EmbeddedAppStack;
    const open: Participant[] = [];

    beforeAll(async () => {
      stack = await startEmbeddedAppStack(engine, clientDist());
    });
    afterAll(async () => {
      await Promise.all(open.map((p) => p.close()));
      await stack?.stop();
    });

    // What the dev node adds. LiveKit is not held to it: its congestion feedback paused up to 0.92 s in
    // these sessions (second-longest 0.92 s once in CI's rehearsal), so its quick rule waits up to ~1.8 s.
    if (engine === 'dev')
      it("a publisher hears the dev node often enough for the media-path watcher's quick rule to judge within a second", async () => {
        const sessionId = `steady-${engine}-${process.pid}`;
        const pair = [
          await joinThroughPage(stack.chromium.browser, stack.app.url, sessionId, 'Lin'),
          await joinThroughPage(stack.chromium.browser, stack.app.url, sessionId, 'Max'),
        ];
        try {
          await expectEveryoneSeesEveryone(pair);
          // The quick rule waits twice a flow's longest pause but one (at least 1 s). The dev node sends an
          // empty receiver report every 200 ms beside werift's own, 0.5-1.5 s apart, which alone made that
          // wait 2-3 s.
          for (const pauses of await Promise.all(pair.map((p) => p.publisherPauses(5_000))))
            assert.ok(
              (pauses[1] ?? Infinity) < 750,
              `pauses on a publisher connection, longest first: ${pauses.join(', ')} ms`,
            );
        } finally {
          await Promise.all(pair.map((p) => p.close()));
        }
      });

    it('data, events, screen share and an app track survive the move; bad input is refused', async () => {
      const sessionId = `sample-${engine}-${process.pid}`;
      const ada = await joinThroughPage(stack.chromium.browser, stack.app.url, sessionId, 'Ada');
      open.push(ada);
      const grace = await joinThroughPage(stack.chromium.browser, stack.app.url, sessionId, 'Grace');
      open.push(grace);
      const [adaId, graceId] = [await ada.identity(), await grace.identity()];
      await expectEveryoneSeesEveryone([ada, grace]);

      // Ada shares her screen (the sample's button) and publishes an app track (a canvas, publishTrack()).
      await ada.page.click('[data-testid="screen-button"]');
      await ada.page.waitForSelector('[data-testid="screen-button"][aria-pressed="true"]', { timeout: 10_000 });
      await ada.page.evaluate(() => window.__sessionRebuilder.publishTestPattern('whiteboard'));
      await waitForTracks(grace, ada, adaId, ['screen_share', 'whiteboard']);
      // Grace mutes her microphone (the sample's button): the mute is part of what she publishes.
      await grace.page.click('[data-testid="mic-button"]');
      await waitForMicrophone(ada, graceId, true);
      // Grace acknowledged Ada's sync: she receives Ada's reliable messages from here on.
      for (let i = 0; i < 50 && !(await hook(ada).dataPeers()).includes(graceId); i++) await sleep(100);
      assert.deepEqual(await hook(ada).dataPeers(), [graceId]);

      // Bad input: over LiveKit's limit, refused before anything is sent.
      const tooBig = await hook(ada).send('x'.repeat(16_000), { topic: 'seq' });
      assert.equal(tooBig.ok, false);
      assert.equal(tooBig.code, 'payload-too-large', tooBig.message);
      assert.match(tooBig.message ?? '', /over LiveKit's limit of 15360 bytes/);

      // A numbered message every 50 ms, through the kill and the move, and on for a while after.
      await ada.page.evaluate((every) => {
        const sequence = {
          sent: 0,
          failures: [] as string[],
          timer: undefined as ReturnType<typeof setInterval> | undefined,
        };
        window.__sequence = sequence;
        sequence.timer = setInterval(() => {
          const n = ++sequence.sent;
          void window.__sessionRebuilder.send(String(n), { topic: 'seq' }).then((r) => {
            if (!r.ok) sequence.failures.push(`${n}: ${r.code} ${r.message}`);
          });
        }, every);
      }, SEND_EVERY_MS);
      await sleep(1_000);
      // Grace types a chat line the moment her overlay says the call is rebuilding: during the move for
      // sure (a move can be over before a test that types after the kill request gets to it).
      await grace.page.evaluate(() => {
        const overlay = document.querySelector('[data-testid="overlay"]')!;
        const observer = new MutationObserver(() => {
          if (overlay.getAttribute('data-state') !== 'rebuilding') return;
          observer.disconnect();
          document.querySelector<{ value: string }>('[data-testid="chat-input"]')!.value = 'typed during the move';
          document.querySelector<{ click(): void }>('[data-testid="chat-send"]')!.click();
        });
        observer.observe(overlay, { attributes: true, attributeFilter: ['data-state'] });
      });
      const { requestedAt, url: deadUrl } = await stack.crashNodeOf(sessionId);
      await waitForMoveAway([ada, grace], deadUrl);
      await sleep(SEND_AFTER_MOVE_MS);
      const { sent, failures } = await ada.page.evaluate(() => {
        clearInterval(window.__sequence!.timer);
        return { sent: window.__sequence!.sent, failures: window.__sequence!.failures };
      });
      await sleep(200); // the last send() settles

      // Every number exactly once, in order.
      let numbers: number[] = [];
      for (const deadline = Date.now() + DELIVERY_TIMEOUT_MS; Date.now() < deadline; await sleep(200)) {
        numbers = (await hook(grace).received('seq')).filter((m) => m.from === adaId).map((m) => Number(m.text));
        if (numbers.length >= sent) break;
      }
      assert.deepEqual(failures, []);
      assert.ok(sent > 40, `only ${sent} messages were sent`);
      if (numbers.length !== sent || numbers.some((n, i) => n !== i + 1)) {
        const queued = await ada.page.evaluate(() => window.__sessionRebuilder.queuedMessages);
        assert.fail(
          `Grace got ${numbers.length} of ${sent} (first gap at ${numbers.findIndex((n, i) => n !== i + 1)}, last ${numbers.at(-1)}); Ada still queues ${queued}\n${await ada.describe()}\n${await grace.describe()}`,
        );
      }
      const delayed = (await hook(grace).received('seq')).filter((m) => m.delayed).length;
      assert.ok(delayed > 0, 'no message was marked delayed, yet some were sent while the node was dead');
      console.log(
        `${engine}: ${sent} numbered messages sent every ${SEND_EVERY_MS} ms through the kill; Grace got ${numbers.length}, in order, ${numbers.length - new Set(numbers).size} duplicates, ${delayed} marked delayed`,
      );

      // The chat line typed during the move is on Ada's side, marked delayed.
      await ada.page
        .waitForSelector(`[data-testid="chat-message"][data-from="${graceId}"][data-delayed="true"]`, {
          timeout: DELIVERY_TIMEOUT_MS,
        })
        .catch(async (err: Error) => {
          const chat = await hook(ada).received('chat');
          const queued = await grace.page.evaluate(() => window.__sessionRebuilder.queuedMessages);
          throw new Error(
            `${err.message}\nAda's chat: ${JSON.stringify(chat)}; Grace still queues ${queued}\n${await ada.describe()}\n${await grace.describe()}`,
          );
        });
      assert.match(
        (await ada.page.textContent(`[data-testid="chat-message"][data-from="${graceId}"]`)) ?? '',
        /typed during the move.*delayed/,
      );

      // Camera, screen share and the app track are received again, from the new node.
      await expectEveryoneSeesEveryone([ada, grace]);
      await waitForTracks(grace, ada, adaId, ['screen_share', 'whiteboard']);
      // Her microphone is on the new node, still muted.
      await waitForMicrophone(ada, graceId, true);

      // No duplicate and no phantom departure: Ada heard Grace arrive once; nobody heard anyone leave.
      const adaEvents = await hook(ada).events();
      const graceEvents = await hook(grace).events();
      const people = (events: HookEvent[], name: string) =>
        events.filter((e) => e.name === name).map((e) => e.identity);
      assert.deepEqual(people(adaEvents, 'participantConnected'), [graceId]);
      assert.deepEqual(people(graceEvents, 'participantConnected'), []); // Ada was there before Grace joined
      assert.deepEqual(people(adaEvents, 'participantDisconnected'), []);
      assert.deepEqual(people(graceEvents, 'participantDisconnected'), []);
      assertTrackEventsPaired('Ada', adaEvents);
      assertTrackEventsPaired('Grace', graceEvents);
      const graceCamera = graceEvents.filter(
        (e) => e.name === 'trackSubscribed' && e.identity === adaId && e.source === 'camera',
      );
      assert.equal(graceCamera.length, 2, "Ada's camera subscribed once per node");
      assert.equal(adaEvents.filter((e) => e.name === 'roomChanged').length, 2, 'one Room per node');

      const move = (await ada.snapshot()).moves.find((m) => m.outcome === 'done');
      assert.ok(move, 'Ada has no finished move');
      logMoveTimings(moveTimingRow('vanilla sample', engine, move, requestedAt));

      // A real departure is heard, once.
      const leftAt = Date.now();
      await grace.page.click('[data-testid="leave-button"]');
      for (const deadline = Date.now() + DEPARTURE_TIMEOUT_MS; Date.now() < deadline; await sleep(100))
        if (people(await hook(ada).events(), 'participantDisconnected').length > 0) break;
      const heardAfter = Date.now() - leftAt;
      await sleep(500);
      assert.deepEqual(people(await hook(ada).events(), 'participantDisconnected'), [graceId]);
      console.log(`${engine}: Grace's leave heard by Ada after ${heardAfter} ms`);

      // send() after leave(): a clear error.
      await ada.page.click('[data-testid="leave-button"]');
      await ada.waitForState('left', 5_000);
      const afterLeave = await hook(ada).send('too late');
      assert.equal(afterLeave.code, 'left', afterLeave.message);
      assert.match(afterLeave.message ?? '', /has left the session/);
    });
  },
);

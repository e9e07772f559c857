// Any LiveKit SDK, not only livekit-client: bots on @livekit/rtc-node (LiveKit's Node SDK, a Rust core
// over libwebrtc) take their tokens from our API, publish and receive media and data beside a Chromium
// page, and after a SIGKILL of their node follow our socket.io `rejoin` push with their own Room.connect.
// On the dev cluster and on the real LiveKit server; on LiveKit's own cluster, media and data through its
// one URL (the crash there: see below).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { dispose } from '@livekit/rtc-node';
import { HarnessParticipant, startHarnessServer, waitFor, type HarnessServer } from '../media-cluster/livekit-page';
import { launchChromium, type LaunchedBrowser } from '../support/chromium';
import { describeEach } from '../support/each-topology';
import { TOPOLOGY_NAMES } from '../support/engines';
import { must } from '../support/must';
import { startRebuildStack, type RebuildStack } from '../support/rebuild-stack';
import { RtcNodeBot } from '../support/rtc-node-bot';
import { join } from '../support/session-client';

/** Joining, ICE/DTLS and the first keyframe take about a second on loopback; the rest is for a busy CI box. */
const MEDIA_TIMEOUT_MS = 15_000;
/** Probe verdict (250 ms), the push, a new Room and its first keyframe; generous for a loaded machine. */
const BACK_AFTER_KILL_TIMEOUT_MS = 15_000;

describeEach(['dev', 'livekit', 'livekit-cluster'] as const, '@livekit/rtc-node bots (%s)', (engine) => {
  let stack: RebuildStack;
  let server: HarnessServer;
  let chromium: LaunchedBrowser;
  const bots: RtcNodeBot[] = [];
  const pages: HarnessParticipant[] = [];
  const sessionId = `bots-${engine}-${process.pid}`;

  beforeAll(async () => {
    stack = await startRebuildStack(2, { engine });
    server = await startHarnessServer();
    chromium = await launchChromium();
  });

  afterAll(async () => {
    for (const bot of bots) await bot.close();
    for (const page of pages) await page.close();
    await chromium?.close();
    await server?.close();
    await stack?.close();
  });

  it('a publishing bot’s video, audio, reliable and lossy data reach a second bot and a Chromium page', async () => {
    const speaker = await RtcNodeBot.join(stack.app.url, sessionId, 'Speaker bot', { publish: true });
    bots.push(speaker);
    const listener = await RtcNodeBot.join(stack.app.url, sessionId, 'Listener bot', { publish: true });
    bots.push(listener);
    expect(listener.joined.url).toBe(speaker.joined.url);

    // The page joins the same session through our API, with the unmodified livekit-client.
    const viewerJoin = await join(stack.app.url, sessionId, 'Viewer page');
    const viewer = await HarnessParticipant.open(chromium.browser, server, viewerJoin.identity);
    pages.push(viewer);
    await viewer.join(viewerJoin.url, viewerJoin.token, { video: false, audio: false });

    await waitFor(
      'the listener bot decodes the speaker’s video and audio',
      async () => listener.framesFrom(speaker.identity) > 10 && listener.audioFramesFrom(speaker.identity) > 10,
      MEDIA_TIMEOUT_MS,
      100,
    );
    await waitFor(
      'the speaker bot decodes the listener’s video',
      async () => speaker.framesFrom(listener.identity) > 10,
      MEDIA_TIMEOUT_MS,
      100,
    );
    await waitFor(
      'the page decodes the speaker’s video and plays its audio',
      async () => {
        const seen = (await viewer.media())[speaker.identity];
        return !!seen && seen.videoFramesDecoded > 10 && seen.audioSamplesReceived > 0;
      },
      MEDIA_TIMEOUT_MS,
      200,
    );

    await speaker.sendData('hello reliably', true);
    await speaker.sendData('hello quickly', false);
    await waitFor('the listener bot gets both packets', async () => listener.received.data.length >= 2, 5_000);
    expect(listener.received.data.map(({ from, text, kind }) => `${from}:${kind}:${text}`).sort()).toEqual([
      `${speaker.identity}:lossy:hello quickly`,
      `${speaker.identity}:reliable:hello reliably`,
    ]);
    await waitFor('the page gets both packets', async () => (await viewer.received()).length >= 2, 5_000);
    expect((await viewer.received()).map(({ from, text }) => `${from}:${text}`).sort()).toEqual([
      `${speaker.identity}:hello quickly`,
      `${speaker.identity}:hello reliably`,
    ]);
  });

  // On LiveKit's cluster too: the bots' SDK, its signal relayed by nginx, rejoins the one URL on its own
  // and LiveKit's SelectRoomNode re-places the room on a live member as soon as the backend has taken the
  // dead one out of LiveKit's registry. The backend reads the dead member's rooms before that, and its
  // herd moves them whatever room_node_map says by then (before: it read the map after, found nothing
  // and pushed nobody, in 2 of 4 runs).
  it('SIGKILL of the bots’ node: both follow the rejoin push to the other node and decode each other again', async () => {
    const speaker = must(bots[0], 'the speaker bot from the previous test');
    const listener = must(bots[1], 'the listener bot from the previous test');
    for (const page of pages.splice(0)) await page.close();
    const oldUrl = speaker.joined.url;
    const clustered = engine === 'livekit-cluster';
    const node = clustered
      ? await stack.hostOf(sessionId, oldUrl)
      : must(
          stack.nodes.find((n) => n.url === oldUrl),
          `the node at ${oldUrl}`,
        );
    const framesBefore = listener.framesFrom(speaker.identity);
    const killedAt = performance.now();
    await node.kill();

    const generation = speaker.joined.generation + 1;
    await Promise.all(bots.map((bot) => bot.waitForGeneration(generation, BACK_AFTER_KILL_TIMEOUT_MS)));
    for (const bot of bots) expect(bot.connections.at(-1)).toMatchObject({ generation });
    // LiveKit's cluster: the same one URL, the room on another member.
    for (const bot of bots) expect(bot.connections.at(-1)!.url === oldUrl).toBe(clustered);
    if (clustered) expect((await stack.hostOf(sessionId, oldUrl)).name).not.toBe(node.name);
    await waitFor(
      'each bot decodes the other on the new node',
      async () =>
        listener.firstFrameAfterMove.has(speaker.identity) && speaker.firstFrameAfterMove.has(listener.identity),
      BACK_AFTER_KILL_TIMEOUT_MS,
      50,
    );
    const backAfterMs = Math.round(listener.firstFrameAfterMove.get(speaker.identity)! - killedAt);
    console.log(
      `rtc-node bots (${TOPOLOGY_NAMES[engine]}): listener decodes the speaker again ${backAfterMs} ms after SIGKILL`,
    );
    await waitFor(
      'video keeps flowing',
      async () => listener.framesFrom(speaker.identity) > framesBefore + 20,
      MEDIA_TIMEOUT_MS,
      100,
    );
    expect(bots.flatMap((bot) => bot.problems)).toEqual([]);
  });
});

afterAll(async () => {
  // The Rust core's threads would keep Jest's process alive.
  await dispose();
});

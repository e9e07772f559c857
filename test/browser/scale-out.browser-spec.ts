// The backend as a tier: two instances over Redis behind nginx (npm run cluster's layout), two people
// in Chromium. The instance holding their sockets crashes: their video never stops and their sockets
// are back on the other instance within a second; then their media node crashes, and the surviving
// instance rebuilds the session.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type * as LocalStackApi from '../../src/local-stack';
import type { AppInfo } from '../../src/contracts';
import { built } from '../support/built';
import { launchChromium, type LaunchedBrowser } from '../support/chromium';
import {
  expectEveryoneSeesEveryone,
  joinThroughPage,
  sleep,
  waitForMoveAway,
  type Participant,
} from '../support/participant-page';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loads the compiled build (dist/), not the sources
const { startLocalStack } = require(built('src/local-stack')) as typeof LocalStackApi;

/** The promise: socket.io's first reconnection attempt (250-750 ms) lands on the other instance. */
const SOCKET_BACK_MS = 1_000;
/** Video is checked this long after the crash, every SAMPLE_MS; it may never stall longer than STALL_MS. */
const WATCH_MS = 4_000;
const SAMPLE_MS = 250;
const STALL_MS = 1_000;

describe('two backend instances over Redis behind nginx, in Chromium (dev cluster)', () => {
  let cluster: LocalStackApi.LocalStack;
  let chromium: LaunchedBrowser;
  const people: Participant[] = [];

  beforeAll(async () => {
    cluster = await startLocalStack({ instances: 2, nodes: 2, port: 0, media: 'dev' });
    chromium = await launchChromium();
  });

  afterAll(async () => {
    for (const person of people) await person.close();
    await chromium?.close();
    await cluster?.stop();
  });

  it('the instance holding every socket crashes: video never stops, sockets are back within a second; a media crash after it is rebuilt by the survivor', async () => {
    for (const name of ['Ann', 'Ben']) people.push(await joinThroughPage(chromium.browser, cluster.url, 'tier', name));
    await expectEveryoneSeesEveryone(people);
    const info = (await (await fetch(`${cluster.url}/api/info`)).json()) as AppInfo;
    const holder = cluster.instances.find((instance) => instance.pid() === info.instance.pid)!;
    expect(holder).toBeDefined();
    const survivor = cluster.instances.find((instance) => instance !== holder)!;

    // As a user would: the sample app's button (it appears only under npm run cluster).
    const [ann, ben] = people as [Participant, Participant];
    await ann.page.click('[data-testid="crash-instance-button"]');
    const crashedAt = Date.now();
    const identities = await Promise.all(people.map((p) => p.identity()));

    const lastRise = people.map(() => Date.now());
    let previous = await Promise.all(people.map((p) => p.framesDecoded()));
    let longestStall = 0;
    while (Date.now() - crashedAt < WATCH_MS) {
      await sleep(SAMPLE_MS);
      const now = await Promise.all(people.map((p) => p.framesDecoded()));
      for (const [i, frames] of now.entries()) {
        const other = identities[1 - i]!;
        if ((frames[other] ?? 0) > (previous[i]![other] ?? 0)) lastRise[i] = Date.now();
        longestStall = Math.max(longestStall, Date.now() - lastRise[i]!);
      }
      previous = now;
    }
    expect(holder.alive()).toBe(false);
    expect(longestStall).toBeLessThan(STALL_MS);

    const reopened = await Promise.all(
      people.map(
        async (person) =>
          (await person.logSince(crashedAt)).find((entry) =>
            entry.message.startsWith('realtime channel to the backend open'),
          )?.at,
      ),
    );
    const backAfter = reopened.map((at) => (at === undefined ? Infinity : at - crashedAt));
    console.log(
      `scale-out in Chromium: sockets back ${backAfter.join(' / ')} ms after the instance crash; longest video stall ${longestStall} ms`,
    );
    for (const ms of backAfter) expect(ms).toBeLessThan(SOCKET_BACK_MS);
    const answering = (await (await fetch(`${cluster.url}/api/info`)).json()) as AppInfo;
    expect(answering.instance.pid).toBe(survivor.pid());

    // The media node under the session dies next: only the survivor is left to rebuild it.
    const nodeUrl = (await ann.snapshot()).url!;
    const node = cluster.media.nodes().find((n) => n.url === nodeUrl)!;
    await cluster.media.kill(node.name);
    await waitForMoveAway(people, nodeUrl);
    await expectEveryoneSeesEveryone([ann, ben]);
    expect((await ann.snapshot()).generation).toBe(2);
  });
});

// The unmodified livekit-client in headless Chromium against the dev cluster: real media through
// the werift SFU, decoded by the browser.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchChromium, type LaunchedBrowser } from '../support/chromium';
import { WebhookReceiver } from 'livekit-server-sdk';
import { ENGINE_NAMES, ENGINES, startMediaCluster, type MediaCluster, type MediaEngine } from '../support/engines';
import { must } from '../support/must';
import {
  HarnessParticipant,
  joinToken,
  startHarnessServer,
  waitFor,
  type HarnessServer,
  type JoinOptions,
} from './livekit-page';
import { startWebhookSink, type WebhookSink } from './webhook-sink';

const API_KEY = 'media-key';
const API_SECRET = 'media-secret-that-is-long-enough';
/** Joining, ICE/DTLS and the first keyframe take about a second on loopback; leave room for a busy CI box. */
const MEDIA_TIMEOUT_MS = 15_000;
/** A stream that flows shows new frames within a few hundred ms; the margin is for a loaded machine. */
const STILL_FLOWING_TIMEOUT_MS = 5_000;
/** Where the test is about the SFU rather than client defaults: one small layer keeps 2 cores free. */
const LIGHT: JoinOptions = { video: true, audio: true, publishOptions: { simulcast: false }, videoResolution: 'h180' };

describe.each(ENGINES.map((engine) => [ENGINE_NAMES[engine], engine] as [string, MediaEngine]))(
  'livekit-client in Chromium (%s)',
  (_name, engine) => {
    let cluster: MediaCluster;
    let sink: WebhookSink;
    let server: HarnessServer;
    let chromium: LaunchedBrowser;
    let browser: Browser;
    const open: HarnessParticipant[] = [];

    async function participant(
      identity: string,
      nodeIndex: number,
      room: string,
      options: JoinOptions = { video: true, audio: true },
    ) {
      const person = await HarnessParticipant.open(browser, server, identity);
      open.push(person);
      const token = await joinToken(API_KEY, API_SECRET, identity, room);
      const timings = await person.join(
        must(cluster.nodes()[nodeIndex], `media node ${nodeIndex}`).url,
        token,
        options,
      );
      return { person, timings };
    }

    async function leave(person: HarnessParticipant): Promise<void> {
      await person.leave().catch(() => undefined);
      await person.close();
      open.splice(open.indexOf(person), 1);
    }

    /** Video frames and audio samples from `from` keep rising at `to`. */
    async function assertReceiving(
      to: HarnessParticipant,
      from: string,
      kinds: Array<'video' | 'audio'> = ['video', 'audio'],
    ): Promise<void> {
      const counters = async () => (await to.media())[from];
      await waitFor(
        `${to.identity} decoding ${from}`,
        async () => {
          const seen = await counters();
          return (
            !!seen &&
            (!kinds.includes('video') || seen.videoFramesDecoded > 5) &&
            (!kinds.includes('audio') || seen.audioSamplesReceived > 0)
          );
        },
        MEDIA_TIMEOUT_MS,
        200,
      );
      const stillThere = async () => must(await counters(), `${to.identity}'s counters for ${from}`);
      const first = await stillThere();
      await waitFor(
        `${to.identity} still receiving ${from} (${kinds.join(' and ')})`,
        async () => {
          const later = await stillThere();
          return (
            (!kinds.includes('video') || later.videoFramesDecoded > first.videoFramesDecoded) &&
            (!kinds.includes('audio') || later.audioSamplesReceived > first.audioSamplesReceived)
          );
        },
        STILL_FLOWING_TIMEOUT_MS,
        200,
      );
    }

    beforeAll(async () => {
      sink = await startWebhookSink();
      cluster = await startMediaCluster(engine, {
        nodes: 2,
        apiKey: API_KEY,
        apiSecret: API_SECRET,
        webhookUrl: sink.url,
      });
      server = await startHarnessServer();
      chromium = await launchChromium();
      browser = chromium.browser;
    });

    afterAll(async () => {
      for (const person of open.splice(0)) await person.close();
      await chromium?.close();
      await server?.close();
      await cluster?.stop();
      await sink?.close();
    });

    it('two participants with default client options each decode the other’s video and audio', async () => {
      const { person: alice } = await participant('alice', 0, 'pair');
      const { person: bob } = await participant('bob', 0, 'pair');
      await assertReceiving(alice, 'bob');
      await assertReceiving(bob, 'alice');

      const receiver = new WebhookReceiver(API_KEY, API_SECRET);
      const joined = await sink.waitFor((hook) => hook.event === 'participant_joined' && hook.body.includes('"alice"'));
      assert.equal((await receiver.receive(joined.body, joined.authorization)).room?.name, 'pair');
      const published = await sink.waitFor((hook) => hook.event === 'track_published' && hook.body.includes('"alice"'));
      const event = await receiver.receive(published.body, published.authorization);
      assert.match(event.track?.sid ?? '', /^TR_/);
      assert.equal(event.participant?.identity, 'alice');
    });

    it('relays reliable and lossy data packets, and honours destinations', async () => {
      const alice = must(open[0], 'alice, opened by the first test');
      const bob = must(open[1], 'bob, opened by the first test');
      const { person: carol } = await participant('carol', 0, 'pair', { video: false, audio: false });
      await waitFor(
        'carol sees alice and bob',
        async () => (await carol.remoteIdentities()).length === 2,
        MEDIA_TIMEOUT_MS,
      );
      await alice.sendData('to-all-reliable', true);
      await alice.sendData('to-all-lossy', false);
      await bob.sendData('only-carol', true, ['carol']);
      await waitFor('carol gets three packets', async () => (await carol.received()).length === 3, 5_000);
      expect((await carol.received()).map(({ text, from }) => `${from}:${text}`).sort()).toEqual([
        'alice:to-all-lossy',
        'alice:to-all-reliable',
        'bob:only-carol',
      ]);
      await waitFor('bob gets alice’s two packets', async () => (await bob.received()).length === 2, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await bob.received()).map(({ text }) => text).sort()).toEqual(['to-all-lossy', 'to-all-reliable']); // bob never gets carol’s packet
      await leave(carol);
    });

    it('mute and unpublish reach the subscriber, and the webhook reports the unpublish', async () => {
      const alice = must(open[0], 'alice, opened by the first test');
      const bob = must(open[1], 'bob, opened by the first test');
      await alice.setMicrophoneMuted(true);
      await waitFor(
        'bob sees alice’s microphone muted',
        async () => (await bob.events()).some((e) => e.type === 'track-muted' && e.detail === 'alice:audio'),
        5_000,
      );
      await alice.unpublishCamera();
      await waitFor(
        'bob loses alice’s camera',
        async () => (await bob.events()).some((e) => e.type === 'track-unsubscribed' && e.detail === 'alice:video'),
        5_000,
      );
      await sink.waitFor((hook) => hook.event === 'track_unpublished' && hook.body.includes('"alice"'));
      // The SFU keeps forwarding what is still published.
      await assertReceiving(alice, 'bob');
      for (const person of [...open]) await leave(person);
      await sink.waitFor((hook) => hook.event === 'participant_left' && hook.body.includes('"bob"'));
    });

    it('four publishers each receive the three others; a leaver is seen to go; a late joiner receives everyone', async () => {
      const names = ['p1', 'p2', 'p3', 'p4'];
      const people: HarnessParticipant[] = [];
      for (const name of names) people.push((await participant(name, 1, 'four', LIGHT)).person);
      for (const person of people) {
        await waitFor(
          `${person.identity} sees the three others`,
          async () => (await person.remoteIdentities()).length === 3,
          MEDIA_TIMEOUT_MS,
        );
        for (const other of names.filter((name) => name !== person.identity))
          await assertReceiving(person, other, ['video']);
      }

      await leave(must(people[3], 'p4'));
      for (const person of people.slice(0, 3)) {
        await waitFor(
          `${person.identity} sees p4 go`,
          async () => !(await person.remoteIdentities()).includes('p4'),
          5_000,
        );
        assert.ok(
          (await person.events()).some((event) => event.type === 'participant-disconnected' && event.detail === 'p4'),
        );
      }

      const { person: late } = await participant('late', 1, 'four', LIGHT);
      await waitFor(
        'the late joiner sees everyone',
        async () => (await late.remoteIdentities()).join() === 'p1,p2,p3',
        MEDIA_TIMEOUT_MS,
      );
      for (const name of ['p1', 'p2', 'p3']) await assertReceiving(late, name);
      for (const person of people.slice(0, 3)) await assertReceiving(person, 'late', ['video']);
      for (const person of [...open]) await leave(person);
    });

    it('SIGKILL of a node: its clients see the signal drop within a second, the other node’s room goes on', async () => {
      const { person: doomed } = await participant('doomed', 0, 'on-node-1', LIGHT);
      const { person: watcher } = await participant('watcher', 0, 'on-node-1', LIGHT);
      const { person: survivorA } = await participant('survivor-a', 1, 'on-node-2', LIGHT);
      const { person: survivorB } = await participant('survivor-b', 1, 'on-node-2', LIGHT);
      await assertReceiving(watcher, 'doomed', ['video']);
      await assertReceiving(survivorA, 'survivor-b', ['video']);

      const killedAt = Date.now();
      await cluster.kill('node-1');
      for (const person of [doomed, watcher]) {
        await waitFor(
          `${person.identity} notices`,
          async () => (await person.events()).some((event) => event.type === 'signal-reconnecting'),
          3_000,
          50,
        );
        const noticed = (await person.events()).find((event) => event.type === 'signal-reconnecting')!;
        assert.ok(
          noticed.wall - killedAt < 1_000,
          `${person.identity} saw the drop after ${noticed.wall - killedAt} ms`,
        );
      }
      await assertReceiving(survivorA, 'survivor-b');
      await assertReceiving(survivorB, 'survivor-a');
      assert.ok(
        !(await survivorA.events()).some((event) => event.type === 'signal-reconnecting'),
        'node-2 clients never lost their signal',
      );
    });
  },
);

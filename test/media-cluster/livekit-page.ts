// A page that runs the unmodified livekit-client (its UMD build from node_modules) against the dev
// cluster, driven from node through playwright. Shared by the dev-cluster e2e specs and benchmark.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessToken, type VideoGrant } from 'livekit-server-sdk';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** livekit-client's `require` entry is its UMD build, which defines `window.LivekitClient`. */
const LIVEKIT_UMD = require.resolve('livekit-client');

/** Runs in the page. Plain JS: it is served as is, next to livekit-client's UMD bundle. */
const HARNESS = String.raw`
const LK = window.LivekitClient;
const state = { room: null, events: [], data: [], firstFrameAt: {}, connectStartedAt: 0 };
const now = () => performance.now();
function log(type, detail) { state.events.push({ type, detail, at: now(), wall: Date.now() }); }

window.harness = {
  async join(url, token, options) {
    const room = new LK.Room({ adaptiveStream: false, dynacast: false, ...(options.roomOptions || {}) });
    state.room = room;
    room.on(LK.RoomEvent.TrackSubscribed, (track, publication, participant) => {
      log('track-subscribed', participant.identity + ':' + track.kind);
      const element = track.attach();
      element.muted = true;
      element.dataset.identity = participant.identity;
      document.body.appendChild(element);
      if (track.kind === 'video') {
        element.requestVideoFrameCallback(() => {
          state.firstFrameAt[participant.identity] ??= now() - state.connectStartedAt;
        });
      }
    });
    room.on(LK.RoomEvent.ParticipantConnected, (p) => log('participant-connected', p.identity));
    room.on(LK.RoomEvent.ParticipantDisconnected, (p) => log('participant-disconnected', p.identity));
    room.on(LK.RoomEvent.SignalReconnecting, () => log('signal-reconnecting'));
    room.on(LK.RoomEvent.Reconnecting, () => log('reconnecting'));
    room.on(LK.RoomEvent.Disconnected, (reason) => log('disconnected', String(reason)));
    room.on(LK.RoomEvent.TrackMuted, (pub, p) => log('track-muted', p.identity + ':' + pub.kind));
    room.on(LK.RoomEvent.TrackUnmuted, (pub, p) => log('track-unmuted', p.identity + ':' + pub.kind));
    room.on(LK.RoomEvent.TrackUnsubscribed, (track, pub, p) => log('track-unsubscribed', p.identity + ':' + track.kind));
    room.on(LK.RoomEvent.ParticipantMetadataChanged, (old, p) => log('metadata', p.identity + ':' + p.metadata));
    room.on(LK.RoomEvent.DataReceived, (payload, participant, kind) => {
      state.data.push({ text: new TextDecoder().decode(payload), from: participant && participant.identity, kind });
    });
    state.connectStartedAt = now();
    await room.connect(url, token, options.connectOptions || {});
    const connectMs = now() - state.connectStartedAt;
    const publishStartedAt = now();
    if (options.video) await room.localParticipant.setCameraEnabled(true, { resolution: LK.VideoPresets[options.videoResolution || 'h360'].resolution }, options.publishOptions || {});
    if (options.audio) await room.localParticipant.setMicrophoneEnabled(true);
    return { connectMs, publishMs: now() - publishStartedAt, sid: room.localParticipant.sid };
  },
  remoteIdentities() {
    return state.room ? [...state.room.remoteParticipants.values()].map((p) => p.identity).sort() : [];
  },
  async media() {
    const result = {};
    for (const p of state.room.remoteParticipants.values()) {
      const entry = { videoFramesDecoded: 0, audioSamplesReceived: 0, videoWidth: 0, videoBytesReceived: 0 };
      for (const pub of p.trackPublications.values()) {
        if (!pub.track || !pub.track.receiver) continue;
        const stats = await pub.track.receiver.getStats();
        stats.forEach((s) => {
          if (s.type !== 'inbound-rtp') return;
          if (s.kind === 'video') { entry.videoFramesDecoded += s.framesDecoded || 0; entry.videoWidth = s.frameWidth || 0; entry.videoBytesReceived += s.bytesReceived || 0; }
          if (s.kind === 'audio') entry.audioSamplesReceived += s.totalSamplesReceived || 0;
        });
      }
      result[p.identity] = entry;
    }
    return result;
  },
  async sendData(text, reliable, destinationIdentities) {
    await state.room.localParticipant.publishData(new TextEncoder().encode(text), { reliable, destinationIdentities });
  },
  async setMicrophoneMuted(muted) { await state.room.localParticipant.setMicrophoneEnabled(!muted); },
  async unpublishCamera() {
    const pub = state.room.localParticipant.getTrackPublication(LK.Track.Source.Camera);
    if (pub && pub.track) await state.room.localParticipant.unpublishTrack(pub.track);
  },
  async leave() { await state.room.disconnect(); },
  received() { return state.data; },
  events() { return state.events; },
  firstFrameAt() { return state.firstFrameAt; },
  connectionState() { return state.room ? state.room.state : 'none'; },
};
`;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>dev-cluster harness</title></head>
<body><script src="/livekit-client.umd.js"></script><script src="/harness.js"></script></body></html>`;

export interface HarnessServer {
  url: string;
  close(): Promise<void>;
}

/** Serves the harness page on 127.0.0.1 (any free port). */
export async function startHarnessServer(): Promise<HarnessServer> {
  const umd = readFileSync(LIVEKIT_UMD);
  const server: Server = createServer((req, res) => {
    const [body, type] =
      req.url === '/livekit-client.umd.js'
        ? [umd, 'text/javascript']
        : req.url === '/harness.js'
          ? [HARNESS, 'text/javascript']
          : [PAGE, 'text/html'];
    res.writeHead(200, { 'Content-Type': type });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface JoinOptions {
  video?: boolean;
  audio?: boolean;
  /** livekit-client's own options, passed through (`new Room(roomOptions)`, `connect(.., connectOptions)`). */
  roomOptions?: Record<string, unknown>;
  connectOptions?: Record<string, unknown>;
  publishOptions?: Record<string, unknown>;
  /** A livekit-client `VideoPresets` key; default h360. */
  videoResolution?: 'h180' | 'h360' | 'h720';
}

export interface JoinTimings {
  connectMs: number;
  publishMs: number;
  sid: string;
}

export interface MediaSeen {
  videoFramesDecoded: number;
  videoBytesReceived: number;
  audioSamplesReceived: number;
  videoWidth: number;
}

export interface HarnessEvent {
  type: string;
  detail?: string;
  /** performance.now() in the page. */
  at: number;
  /** Date.now() in the page: comparable with node's clock (same machine). */
  wall: number;
}

export interface ReceivedData {
  text: string;
  from?: string;
  kind: number;
}

/** `window.harness` as HARNESS defines it, for the functions page.evaluate runs in the page. */
interface Harness {
  join(url: string, token: string, options: JoinOptions): Promise<JoinTimings>;
  remoteIdentities(): string[];
  media(): Promise<Record<string, MediaSeen>>;
  sendData(text: string, reliable: boolean, destinationIdentities?: string[]): Promise<void>;
  setMicrophoneMuted(muted: boolean): Promise<void>;
  unpublishCamera(): Promise<void>;
  leave(): Promise<void>;
  received(): ReceivedData[];
  events(): HarnessEvent[];
  firstFrameAt(): Record<string, number>;
  connectionState(): string;
}

/** The page's global scope once HARNESS ran (a type only: nothing of it reaches the page). */
interface HarnessWindow {
  harness: Harness;
}

/** One participant: a browser context with the harness page open. */
export class HarnessParticipant {
  private constructor(
    readonly identity: string,
    private readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  static async open(browser: Browser, server: HarnessServer, identity: string): Promise<HarnessParticipant> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => 'harness' in globalThis);
    return new HarnessParticipant(identity, context, page);
  }

  join(url: string, token: string, options: JoinOptions = {}): Promise<JoinTimings> {
    return this.page.evaluate(([u, t, o]) => (globalThis as unknown as HarnessWindow).harness.join(u, t, o), [
      url,
      token,
      options,
    ] as const);
  }

  remoteIdentities(): Promise<string[]> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessWindow).harness.remoteIdentities());
  }

  media(): Promise<Record<string, MediaSeen>> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessWindow).harness.media());
  }

  sendData(text: string, reliable: boolean, destinationIdentities?: string[]): Promise<void> {
    return this.page.evaluate(([t, r, d]) => (globalThis as unknown as HarnessWindow).harness.sendData(t, r, d), [
      text,
      reliable,
      destinationIdentities,
    ] as const);
  }

  received(): Promise<ReceivedData[]> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessWindow).harness.received());
  }

  events(): Promise<HarnessEvent[]> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessWindow).harness.events());
  }

  firstFrameAt(): Promise<Record<string, number>> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessWindow).harness.firstFrameAt());
  }

  setMicrophoneMuted(muted: boolean): Promise<void> {
    return this.page.evaluate((m) => (globalThis as unknown as HarnessWindow).harness.setMicrophoneMuted(m), muted);
  }

  unpublishCamera(): Promise<void> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessWindow).harness.unpublishCamera());
  }

  leave(): Promise<void> {
    return this.page.evaluate(() => (globalThis as unknown as HarnessWindow).harness.leave());
  }

  close(): Promise<void> {
    return this.context.close().catch(() => undefined);
  }
}

export async function joinToken(
  apiKey: string,
  apiSecret: string,
  identity: string,
  room: string,
  grant: VideoGrant = {},
): Promise<string> {
  const token = new AccessToken(apiKey, apiSecret, { identity, name: identity });
  token.addGrant({ roomJoin: true, room, ...grant });
  return token.toJwt();
}

/** Polls `check` until it returns true or `timeoutMs` passes; the failure names `what`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

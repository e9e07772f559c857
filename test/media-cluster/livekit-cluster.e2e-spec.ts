// LiveKit's own multi-node cluster as the media-cluster wing runs it on one machine (real livekit-server
// only: the dev engine does not imitate LiveKit's Redis routing): two nodes sharing a Redis, each on its
// own 127.0.0.x and the same signal port, nginx in front as the one URL. Then what LiveKit alone does
// when the room's node is SIGKILLed: the facts the backend's cluster mode acts on.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  dispose,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  LocalVideoTrack,
  VideoBufferType,
  VideoFrame,
  VideoSource,
  VideoStream,
} from '@livekit/rtc-node';
import Redis from 'ioredis';
import { startMediaCluster, type LiveKitCluster, type MediaNodeInfo } from '../support/engines';
import { must } from '../support/must';
import { joinToken, waitFor } from './livekit-page';
import { startWebhookSink, type WebhookSink } from './webhook-sink';

const API_KEY = 'cluster-key';
const API_SECRET = 'cluster-secret-that-is-long-enough';
const ROOM = 'cluster-room';
/** Connect, ICE/DTLS and a first keyframe take about a second on loopback; room for a loaded box. */
const MEDIA_TIMEOUT_MS = 15_000;
/** LiveKit's `selector.AvailableSeconds`: a node counts as available while its stats are younger. */
const LIVEKIT_AVAILABLE_SECONDS = 5;
/** Each join try on a dead node waits for psrpc's default 3 s before LiveKit tries again. */
const PSRPC_TIMEOUT_MS = 3_000;
/** The wing's health check (GET / every 250 ms, 500 ms timeout) has left a hung node out by then. */
const HEALTH_CHECK_LEAVES_OUT_MS = 1_500;
const WIDTH = 160;
const HEIGHT = 90;
const FRAME_INTERVAL_MS = 66;

/** A participant on @livekit/rtc-node (LiveKit's Rust core) with no backend: a URL, a token, a camera. */
class Bot {
  readonly framesFrom = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private source: VideoSource | undefined;

  private constructor(
    readonly identity: string,
    readonly room: Room,
  ) {}

  static async connect(url: string, identity: string): Promise<Bot> {
    const bot = new Bot(identity, new Room());
    bot.room.on(RoomEvent.TrackSubscribed, (track, _publication, participant) => {
      if (track.kind !== TrackKind.KIND_VIDEO) return;
      void (async () => {
        for await (const _frame of new VideoStream(track))
          bot.framesFrom.set(participant.identity, (bot.framesFrom.get(participant.identity) ?? 0) + 1);
      })().catch(() => undefined);
    });
    await bot.room.connect(url, await joinToken(API_KEY, API_SECRET, identity, ROOM), {
      autoSubscribe: true,
      dynacast: false,
    });
    return bot;
  }

  async publishCamera(): Promise<void> {
    const source = new VideoSource(WIDTH, HEIGHT);
    this.source = source;
    const options = new TrackPublishOptions();
    options.source = TrackSource.SOURCE_CAMERA;
    await this.room.localParticipant!.publishTrack(LocalVideoTrack.createVideoTrack('camera', source), options);
    const pixels = new Uint8Array(WIDTH * HEIGHT * 4);
    let tick = 0;
    this.timer = setInterval(() => {
      pixels.fill(++tick % 256);
      source.captureFrame(new VideoFrame(pixels, WIDTH, HEIGHT, VideoBufferType.RGBA));
    }, FRAME_INTERVAL_MS);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.source?.close().catch(() => undefined);
    // A Room whose node died may wait on its signal socket: do not let it hold the spec.
    await Promise.race([this.room.disconnect().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000))]);
  }
}

function loopbackAddresses(): string[] {
  const out = spawnSync('ip', ['-o', '-4', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' }).stdout;
  return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((match) => match[1]!);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function get(url: string): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return `${response.status} ${await response.text()}`;
  } catch (error) {
    return (error as { cause?: { code?: string } }).cause?.code ?? String(error);
  }
}

describe("LiveKit's own cluster on one machine (real LiveKit)", () => {
  let cluster: LiveKitCluster;
  let redis: Redis;
  let sink: WebhookSink;
  let addressesBefore: string[];
  const bots: Bot[] = [];
  const startedAt = performance.now();

  const bot = async (identity: string) => {
    const started = await Bot.connect(cluster.clusterUrl, identity);
    bots.push(started);
    return started;
  };
  const roomNode = async (): Promise<MediaNodeInfo> => {
    const id = await redis.hget('room_node_map', ROOM);
    return must(
      cluster.nodes().find((node) => node.livekitNodeId === id),
      `the node ${id ?? '(none)'} that room_node_map names`,
    );
  };

  beforeAll(async () => {
    addressesBefore = loopbackAddresses();
    sink = await startWebhookSink();
    cluster = await startMediaCluster('livekit', {
      topology: 'cluster',
      nodes: 2,
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      webhookUrl: sink.url,
    });
    redis = new Redis(cluster.livekitRedisUrl);
    console.log(`cluster up in ${Math.round(performance.now() - startedAt)} ms`);
  });

  afterAll(async () => {
    await Promise.all(bots.map((b) => b.close()));
    redis?.disconnect();
    await cluster?.stop();
    await sink?.close();
    // The Rust core's threads would keep Jest's process alive.
    await dispose();
  });

  it('runs each node on its own loopback address (added to lo), the same port, registered in Redis `nodes` with it', async () => {
    const nodes = cluster.nodes();
    expect(nodes.map((node) => node.name)).toEqual(['node-1', 'node-2']);
    const hosts = nodes.map((node) => node.host);
    assert.equal(new Set(hosts).size, 2, 'two addresses');
    for (const node of nodes) {
      assert.match(node.host, /^127\.0\.0\.\d+$/);
      assert.notEqual(node.host, '127.0.0.1');
      assert.equal(node.port, 7880, "LiveKit's own port on every node");
      assert.equal(node.url, `ws://${node.host}:7880`);
      assert.equal(node.state, 'running');
      assert.match(must(node.livekitNodeId, `${node.name}'s LiveKit id`), /^ND_/);
      assert.equal(await get(`http://${node.host}:7880/`), '200 OK');
    }
    expect(loopbackAddresses()).toEqual(expect.arrayContaining(hosts));

    // The registry as LiveKit wrote it: the hash keys are the ids; each entry holds the node's address.
    const keys = await redis.hkeys('nodes');
    const registered = await cluster.registeredNodes();
    expect(keys.sort()).toEqual(nodes.map((node) => node.livekitNodeId).sort());
    for (const node of nodes) {
      const entry = must(
        registered.find((r) => r.id === node.livekitNodeId),
        `${node.name} in nodes`,
      );
      expect(entry).toMatchObject({ ip: node.host, state: 'SERVING' });
      assert.ok(Date.now() / 1000 - entry.updatedAt < LIVEKIT_AVAILABLE_SECONDS, 'fresh stats');
    }
    // The one URL: nginx in front, passing plain HTTP (LiveKit's health answer) to a node.
    assert.match(cluster.clusterUrl, /^ws:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await get(cluster.clusterUrl.replace(/^ws/, 'http') + '/'), '200 OK');
  });

  it('carries media between two rtc-node bots joined through the one URL, and sends webhooks from the room node', async () => {
    const t0 = performance.now();
    const alice = await bot('alice');
    const bob = await bot('bob');
    await Promise.all([alice.publishCamera(), bob.publishCamera()]);
    await waitFor(
      'video both ways through the cluster',
      async () => (alice.framesFrom.get('bob') ?? 0) > 5 && (bob.framesFrom.get('alice') ?? 0) > 5,
      MEDIA_TIMEOUT_MS,
      50,
    );
    console.log(`two bots joined and decoding each other in ${Math.round(performance.now() - t0)} ms`);
    const node = await roomNode();
    await sink.waitFor((hook) => hook.event === 'room_started' && hook.body.includes(ROOM), 5_000);
    await sink.waitFor((hook) => hook.event === 'participant_joined' && hook.body.includes('bob'), 5_000);
    console.log(`room ${ROOM} is on ${node.name} (${node.host}, ${node.livekitNodeId})`);
  });

  it("SIGKILL of the room's node, LiveKit alone: the dead node stays in `nodes`, a new join waits out its staleness", async () => {
    const dead = await roomNode();
    const deadId = must(dead.livekitNodeId, 'the dead node id');
    const survivor = must(
      cluster.nodes().find((node) => node.name !== dead.name),
      'the other node',
    );
    const killAt = Date.now();
    await cluster.kill(dead.name);
    assert.equal(await get(`http://${dead.host}:7880/`), 'ECONNREFUSED');

    // A fresh participant joins the same room through the one URL at once, as a client would. LiveKit
    // keeps the room on its node while that node's stats are < 5 s old; each try there costs psrpc's 3 s.
    let carol: Bot | undefined;
    const tries: string[] = [];
    while (!carol) {
      try {
        carol = await bot('carol');
      } catch (error) {
        tries.push(`${Date.now() - killAt} ms: ${(error as Error).message}`);
        if (Date.now() - killAt > 30_000) throw new Error(`carol never joined: ${tries.join('; ')}`, { cause: error });
      }
    }
    const joinedMs = Date.now() - killAt;
    console.log(`carol joined ${joinedMs} ms after the kill (${tries.length} failed tries: ${tries.join('; ')})`);
    assert.ok(joinedMs >= PSRPC_TIMEOUT_MS - 500, `LiveKit first sent the join to the dead node (${joinedMs} ms)`);
    expect(await redis.hget('room_node_map', ROOM)).toBe(survivor.livekitNodeId);

    // Nobody removed the dead node: LiveKit sweeps `nodes` only when a node starts (next test).
    const stale = must(
      (await cluster.registeredNodes()).find((node) => node.id === deadId),
      'the dead node, still in nodes',
    );
    expect(stale).toMatchObject({ ip: dead.host, state: 'SERVING' });
    assert.ok(stale.updatedAt <= Math.ceil(killAt / 1000), 'its stats stopped at the kill');
  });

  it('restart: the node comes back at the same address with a new LiveKit id, and its start sweeps the stale one', async () => {
    const before = must(
      cluster.nodes().find((node) => node.state === 'dead'),
      'the node killed by the previous test',
    );
    const oldId = must(before.livekitNodeId, 'old id');
    // Stale for LiveKit (stats older than AvailableSeconds), with a second of margin for its whole-second clock.
    const old = must(
      (await cluster.registeredNodes()).find((node) => node.id === oldId),
      'the dead node, still in nodes',
    );
    const staleAtMs = (old.updatedAt + LIVEKIT_AVAILABLE_SECONDS + 1) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, staleAtMs - Date.now())));
    expect((await cluster.registeredNodes()).map((node) => node.id)).toContain(oldId);

    await cluster.restart(before.name);
    const after = must(
      cluster.nodes().find((node) => node.name === before.name),
      before.name,
    );
    assert.equal(after.host, before.host);
    assert.equal(after.url, before.url);
    const newId = must(after.livekitNodeId, 'new id');
    assert.notEqual(newId, oldId);
    // LiveKit's only sweep of `nodes`: RemoveDeadNodes, once, when a node starts.
    const atThatIp = (await cluster.registeredNodes()).filter((node) => node.ip === before.host).map((n) => n.id);
    expect(atThatIp).toEqual([newId]);
  });

  it('a hung node (SIGSTOP: its kernel still accepts) is left out of the one URL until it answers again', async () => {
    const hung = must(cluster.nodes()[0], 'a node');
    const clusterHttp = cluster.clusterUrl.replace(/^ws/, 'http');
    await cluster.hang(hung.name);
    try {
      // nginx alone would send every other request to it, each waiting for the client's timeout.
      await new Promise((resolve) => setTimeout(resolve, HEALTH_CHECK_LEAVES_OUT_MS));
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await get(`${clusterHttp}/`));
      expect(answers).toEqual(answers.map(() => '200 OK'));
    } finally {
      await cluster.resume(hung.name);
    }
    await waitFor(
      `${hung.name} answers again`,
      async () => (await get(hung.url.replace(/^ws/, 'http') + '/')) === '200 OK',
      HEALTH_CHECK_LEAVES_OUT_MS * 4,
      100,
    );
  });

  it('stop ends every process it started and removes the addresses it added', async () => {
    const pids = cluster.nodes().map((node) => must(node.pid, `${node.name}'s pid`));
    const hosts = cluster.nodes().map((node) => node.host);
    const nginxPid = cluster.nginxPid;
    const redisUrl = new URL(cluster.livekitRedisUrl);
    await Promise.all(bots.splice(0).map((b) => b.close()));
    redis.disconnect();
    await cluster.stop();
    await cluster.stop();
    expect([...pids, nginxPid].map(pidAlive)).toEqual([false, false, false]);
    // nginx's workers too (it reloads its upstreams with a master: they are its process group).
    // (SIGKILLed at once; gone once init has reaped them.)
    await waitFor(
      "nginx's process group gone",
      async () => spawnSync('pgrep', ['-g', String(nginxPid)], { encoding: 'utf8' }).stdout.trim() === '',
      2_000,
      50,
    );
    assert.equal(await get(`http://127.0.0.1:${redisUrl.port}/`), 'ECONNREFUSED', "the cluster's Redis is gone");
    const added = hosts.filter((host) => !addressesBefore.includes(host));
    expect(loopbackAddresses().filter((address) => added.includes(address))).toEqual([]);
    console.log(`whole spec ${Math.round(performance.now() - startedAt)} ms`);
  });
});

describe('a LiveKit cluster that cannot start', () => {
  it('fails naming the cause and leaves no address or process behind', async () => {
    const before = loopbackAddresses();
    await expect(
      startMediaCluster('livekit', {
        topology: 'cluster',
        nodes: 2,
        apiKey: API_KEY,
        apiSecret: API_SECRET,
        livekitRedisUrl: 'redis://127.0.0.1:1',
      }),
    ).rejects.toThrow(/LiveKit's Redis redis:\/\/127\.0\.0\.1:1 does not answer \(connect ECONNREFUSED/);
    expect(loopbackAddresses()).toEqual(before);
  });

  it('refuses the dev engine: it does not imitate LiveKit’s Redis routing', async () => {
    await expect(
      startMediaCluster('dev', { topology: 'cluster', nodes: 2, apiKey: API_KEY, apiSecret: API_SECRET }),
    ).rejects.toThrow(/topology cluster is LiveKit's own multi-node cluster .* the dev engine does not imitate it/);
  });
});

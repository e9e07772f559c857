// The check behind answering new sessions before CreateRoom, against the servers themselves: the real
// LiveKit server with room.auto_create on (its default) and off, and the dev engine's node. It must
// create no room, and a node that does not answer must count as one whose joins create nothing.
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomServiceClient } from 'livekit-server-sdk';
import type { AppConfig } from '../../src/config/app-config';
import { requireLivekitBinary } from '../../src/media-cluster/engines/livekit/livekit-binary';
import { LiveKitNodeProcess } from '../../src/media-cluster/engines/livekit/livekit-node-process';
import { ValidateEndpointAutoCreate } from '../../src/nodes/room-auto-create';
import { freePort, freeUdpPort } from '../../src/shared/ports';
import { startMediaCluster } from '../support/engines';

const API_KEY = 'auto-create-key';
const API_SECRET = 'auto-create-secret-of-a-reasonable-length';
const check = () => new ValidateEndpointAutoCreate({ apiKey: API_KEY, apiSecret: API_SECRET } as AppConfig);

describe('whether a node creates rooms on join (GET /rtc/validate)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auto-create-'));
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const stop of stops) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  async function livekitNode(name: string, autoCreateRooms: boolean): Promise<string> {
    const node = new LiveKitNodeProcess(
      requireLivekitBinary(),
      {
        name,
        port: await freePort(),
        udpPort: await freeUdpPort(),
        apiKey: API_KEY,
        apiSecret: API_SECRET,
        emptyTimeoutSec: 10,
        autoCreateRooms,
      },
      dir,
      () => undefined,
    );
    stops.push(() => node.kill());
    await node.start();
    return node.info().url;
  }

  it.each([
    ['on (its default)', true],
    ['off', false],
  ])('real LiveKit, room.auto_create %s: answered as configured, and no room created by asking', async (_label, on) => {
    const url = await livekitNode(`auto-create-${on ? 'on' : 'off'}`, on);
    const started = performance.now();
    expect(await check().joinsCreateRooms(url)).toBe(on);
    console.log(`real LiveKit, auto_create ${on}: told in ${Math.round(performance.now() - started)} ms`);
    const rooms = await new RoomServiceClient(url.replace(/^ws/, 'http'), API_KEY, API_SECRET).listRooms();
    expect(rooms).toEqual([]);
  });

  it("the dev engine's node: joins create rooms", async () => {
    const cluster = await startMediaCluster('dev', { nodes: 1, apiKey: API_KEY, apiSecret: API_SECRET });
    stops.push(() => cluster.stop());
    expect(await check().joinsCreateRooms(cluster.nodes()[0]!.url)).toBe(true);
  });

  it('a node that does not answer, or a server with no such endpoint: joins taken as creating nothing (new sessions wait for CreateRoom)', async () => {
    expect(await check().joinsCreateRooms(`ws://127.0.0.1:${await freePort()}`)).toBe(false);
    const bare = createServer((_req, res) => res.writeHead(404).end('not found'));
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise<void>((resolve) => bare.close(() => resolve())));
    const { port } = bare.address() as AddressInfo;
    expect(await check().joinsCreateRooms(`ws://127.0.0.1:${port}`)).toBe(false);
  });
});

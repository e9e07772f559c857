// Hostile input to the dev cluster's media node (fast-check, fixed seeds): Twirp RoomService calls with
// generated methods, bodies and content types; signal WebSocket upgrades with generated tokens; and
// generated frames on a joined signal connection. Each gets a 4xx (or, for a well-formed read, its
// answer), a refused upgrade, or a close with a code and a reason; the node keeps serving, and its
// rooms are what they were.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { RoomServiceClient } from 'livekit-server-sdk';
import WebSocket from 'ws';
import { startMediaCluster, type MediaCluster } from '../support/engines';
import { joinToken } from './livekit-page';
import { RawSignalClient } from './raw-signal-client';

const API_KEY = 'hostile-key';
const API_SECRET = 'hostile-secret-that-is-long-enough';
const TWIRP_CALLS = 1_500;
const UPGRADES = 300;
const FRAMES = 300;
const METHODS = [
  'CreateRoom',
  'ListRooms',
  'DeleteRoom',
  'ListParticipants',
  'GetParticipant',
  'RemoveParticipant',
  'UpdateParticipant',
  'MutePublishedTrack',
  'UpdateRoomMetadata',
  'SendData',
];

describe('dev cluster: hostile input to Twirp and the signal WebSocket (fast-check)', () => {
  let cluster: MediaCluster;
  let url: string;
  let rooms: RoomServiceClient;
  let listOnlyToken: string;
  const received: Record<string, number> = {};
  const count = (surface: string) => (received[surface] = (received[surface] ?? 0) + 1);
  const roomNames = async () =>
    (await rooms.listRooms()).map((room) => `${room.name}/${room.sid}/${room.metadata}/${room.numParticipants}`).sort();

  beforeAll(async () => {
    cluster = await startMediaCluster('dev', { nodes: 1, apiKey: API_KEY, apiSecret: API_SECRET });
    url = cluster.nodes()[0]!.url;
    rooms = new RoomServiceClient(url, API_KEY, API_SECRET);
    await rooms.createRoom({ name: 'standing', metadata: 'keep' });
    const { AccessToken } = await import('livekit-server-sdk');
    const token = new AccessToken(API_KEY, API_SECRET, { identity: 'reader', ttl: '10m' });
    token.addGrant({ roomList: true }); // reads only: every write must be refused
    listOnlyToken = await token.toJwt();
  });
  afterAll(async () => {
    console.log(
      `dev cluster hostile inputs received: ${Object.entries(received)
        .map(([surface, n]) => `${surface} ${n}`)
        .join(', ')}`,
    );
    await cluster?.stop();
  });

  it(`${TWIRP_CALLS} generated Twirp calls: 4xx with a Twirp error body, or a read's answer; rooms unchanged`, async () => {
    const before = await roomNames();
    const statuses = new Map<number, number>();
    const body = fc.oneof(
      fc.json().map((text) => ({ type: 'application/json', bytes: Buffer.from(text) })),
      fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ type: 'application/protobuf', bytes: Buffer.from(bytes) })),
      fc
        .record({ type: fc.constantFrom('text/plain', 'application/json', ''), text: fc.string() })
        .map(({ type, text }) => ({ type, bytes: Buffer.from(text) })),
    );
    const method = fc.oneof(
      fc.constantFrom(...METHODS),
      fc.string(),
      fc.constantFrom('constructor', '__proto__', 'toString'),
    );
    const auth = fc.oneof(
      fc.constant(`Bearer ${listOnlyToken}`),
      fc.constant(''),
      fc.string().map((s) => `Bearer ${s}`),
    );
    await fc.assert(
      fc.asyncProperty(method, body, auth, async (name, payload, authorization) => {
        count('twirp');
        const response = await fetch(
          `${url.replace(/^ws/, 'http')}/twirp/livekit.RoomService/${encodeURIComponent(name)}`,
          {
            method: 'POST',
            headers: { ...(payload.type && { 'content-type': payload.type }), ...(authorization && { authorization }) },
            body: payload.bytes,
          },
        );
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const text = await response.text();
        if (response.status === 200) return name === 'ListRooms' && authorization === `Bearer ${listOnlyToken}`;
        return response.status >= 400 && response.status < 500 && text.length > 0;
      }),
      { numRuns: TWIRP_CALLS, seed: 20261211 },
    );
    console.log(`twirp by status: ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(await roomNames()).toEqual(before);
  }, 180_000);

  it(`${UPGRADES} signal upgrades with generated tokens and parameters: refused with a 4xx`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.base64String()),
        fc.dictionary(fc.constantFrom('protocol', 'sdk', 'reconnect', 'auto_subscribe', 'sid'), fc.string()),
        async (token, params) => {
          count('signal upgrade');
          const target = new URL(`${url}/rtc`);
          target.searchParams.set('access_token', token);
          for (const [key, value] of Object.entries(params)) target.searchParams.set(key, value);
          const status = await new Promise<number>((resolve) => {
            const ws = new WebSocket(target);
            ws.once('unexpected-response', (_req, res) => {
              resolve(res.statusCode ?? 0);
              ws.terminate();
            });
            ws.once('open', () => {
              resolve(101);
              ws.close();
            });
            ws.once('error', () => resolve(-1));
          });
          return status >= 400 && status < 500;
        },
      ),
      { numRuns: UPGRADES, seed: 20261212 },
    );
  }, 120_000);

  it(`${FRAMES} generated frames on a joined signal connection: ignored or closed with a code and a reason; the node keeps serving`, async () => {
    const token = await joinToken(API_KEY, API_SECRET, 'fuzzer', 'fuzz-room');
    const closes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }),
          fc.string().map((text) => new TextEncoder().encode(text)),
        ),
        async (bytes) => {
          count('signal frame');
          const client = await RawSignalClient.connect(url, token);
          try {
            await client.next('join');
            client.sendRaw(Buffer.from(bytes));
            const closed = await Promise.race([
              client.closed,
              new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 150)),
            ]);
            if (!closed) return true; // ignored: the connection lives on
            closes.set(`${closed.code}`, (closes.get(`${closed.code}`) ?? 0) + 1);
            return closed.code >= 1000 && closed.reason.length > 0;
          } finally {
            client.close();
          }
        },
      ),
      { numRuns: FRAMES, seed: 20261213 },
    );
    console.log(
      `signal frames that closed the connection, by close code: ${JSON.stringify(Object.fromEntries(closes))}`,
    );
    const healthy = await fetch(url.replace(/^ws/, 'http'));
    expect(healthy.status).toBe(200);
    const after = await RawSignalClient.connect(url, await joinToken(API_KEY, API_SECRET, 'after', 'fuzz-room'));
    expect((await after.next('join')).participant?.identity).toBe('after');
    after.close();
  }, 180_000);
});

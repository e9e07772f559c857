import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CreateRoomRequest,
  DisconnectReason,
  LeaveRequest,
  LeaveRequest_Action,
  ParticipantInfo_State,
  Ping,
  Room,
  SessionDescription,
} from '@livekit/protocol';
import { AccessToken, RoomServiceClient, WebhookReceiver, type VideoGrant } from 'livekit-server-sdk';
import { RTCPeerConnection, useH264 } from 'werift';
import WebSocket from 'ws';
import type { AppConfig } from '../../src/config/app-config';
import { TokenService } from '../../src/sessions/token.service';
import { ENGINE_NAMES, ENGINES, startMediaCluster, type MediaCluster, type MediaEngine } from '../support/engines';
import { must } from '../support/must';
import { joinToken } from './livekit-page';
import { RawSignalClient } from './raw-signal-client';
import { startWebhookSink, type WebhookSink } from './webhook-sink';

const API_KEY = 'test-key';
const API_SECRET = 'test-secret-that-is-long-enough';

async function adminToken(grant: VideoGrant, secret = API_SECRET): Promise<string> {
  const token = new AccessToken(API_KEY, secret, { identity: 'admin-script', ttl: '5m' });
  token.addGrant(grant);
  return token.toJwt();
}

/** A Twirp answer's JSON (an error's is `{code, msg}`), or the plain text LiveKit's auth layer answers with. */
type TwirpBody = Record<string, unknown> | string;

/** The Twirp error code of a body; plain text has none. */
function codeOf(body: TwirpBody): unknown {
  return typeof body === 'string' ? undefined : body.code;
}

async function twirp(
  nodeUrl: string,
  method: string,
  body: unknown,
  authorization?: string,
): Promise<{ status: number; json: TwirpBody }> {
  const response = await fetch(`${nodeUrl.replace(/^ws/, 'http')}/twirp/livekit.RoomService/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(authorization ? { Authorization: authorization } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  // LiveKit answers a token it cannot verify before Twirp, in plain text; Twirp's own errors are JSON.
  let json: TwirpBody;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

describe.each(ENGINES.map((engine) => [ENGINE_NAMES[engine], engine] as [string, MediaEngine]))(
  'media node: RoomService, webhooks and signal edge cases (%s)',
  (_name, engine) => {
    let cluster: MediaCluster;
    let sink: WebhookSink;
    let url: string;
    let otherUrl: string;
    let rooms: RoomServiceClient;
    const clients: RawSignalClient[] = [];

    async function join(identity: string, room: string, extra: Record<string, string> = {}): Promise<RawSignalClient> {
      const client = await RawSignalClient.connect(url, await joinToken(API_KEY, API_SECRET, identity, room), extra);
      clients.push(client);
      return client;
    }

    beforeAll(async () => {
      sink = await startWebhookSink();
      cluster = await startMediaCluster(engine, {
        nodes: 2,
        apiKey: API_KEY,
        apiSecret: API_SECRET,
        webhookUrl: sink.url,
        emptyTimeoutSec: 1,
      });
      const [first, second] = cluster.nodes();
      url = must(first, 'node-1').url;
      otherUrl = must(second, 'node-2').url;
      rooms = new RoomServiceClient(url, API_KEY, API_SECRET);
    });

    afterAll(async () => {
      clients.forEach((client) => client.close());
      await cluster?.stop();
      await sink?.close();
    });

    it('RoomServiceClient: create, list, update metadata, delete', async () => {
      const created = await rooms.createRoom({
        name: 'twirp-room',
        emptyTimeout: 30,
        maxParticipants: 5,
        metadata: 'm1',
      });
      assert.match(created.sid, /^RM_/);
      assert.equal(created.emptyTimeout, 30);
      assert.equal(created.maxParticipants, 5);
      const again = await rooms.createRoom({ name: 'twirp-room' });
      assert.equal(again.sid, created.sid, 'creating an existing room returns it');

      expect((await rooms.listRooms()).map((room) => room.name)).toEqual(['twirp-room']);
      expect(await rooms.listRooms(['other'])).toEqual([]);
      expect(await new RoomServiceClient(otherUrl, API_KEY, API_SECRET).listRooms()).toEqual([]); // rooms belong to one node

      const updated = await rooms.updateRoomMetadata('twirp-room', 'm2');
      assert.equal(updated.metadata, 'm2');
      await rooms.deleteRoom('twirp-room');
      expect(await rooms.listRooms()).toEqual([]);
      await sink.waitFor((hook) => hook.event === 'room_finished' && hook.body.includes('twirp-room'));
    });

    it('RoomServiceClient: list, get, update and remove participants', async () => {
      const alice = await join('alice', 'people');
      const join1 = await alice.next('join');
      assert.equal(join1.participant?.identity, 'alice');
      assert.equal(join1.room?.name, 'people');
      const bob = await join('bob', 'people');
      const join2 = await bob.next('join');
      expect(join2.otherParticipants.map((participant) => participant.identity)).toEqual(['alice']);
      const seenByAlice = await alice.next('update');
      expect(seenByAlice.participants.map((participant) => participant.identity)).toContain('bob');

      expect((await rooms.listParticipants('people')).map((participant) => participant.identity).sort()).toEqual([
        'alice',
        'bob',
      ]);
      const got = await rooms.getParticipant('people', 'bob');
      assert.equal(got.state, ParticipantInfo_State.JOINED);

      const changed = await rooms.updateParticipant('people', 'bob', { metadata: '{"seat":2}', name: 'Bob B.' });
      assert.equal(changed.metadata, '{"seat":2}');
      assert.equal(changed.name, 'Bob B.');

      await rooms.removeParticipant('people', 'bob');
      const leave = await bob.next('leave');
      assert.equal(leave.reason, DisconnectReason.PARTICIPANT_REMOVED);
      assert.equal(leave.action, LeaveRequest_Action.DISCONNECT);
      expect((await rooms.listParticipants('people')).map((participant) => participant.identity)).toEqual(['alice']);
      await assert.rejects(rooms.getParticipant('people', 'bob'), (error: { status?: number }) => error.status === 404);
    });

    it('refuses calls whose grant does not cover them, with Twirp error bodies', async () => {
      await rooms.createRoom({ name: 'guarded' });
      const joinOnly = `Bearer ${await adminToken({ roomJoin: true, room: 'guarded' })}`;
      const otherRoomAdmin = `Bearer ${await adminToken({ roomAdmin: true, room: 'elsewhere' })}`;
      const wrongSecret = `Bearer ${await adminToken({ roomCreate: true }, 'not-the-secret')}`;

      // As LiveKit answers it: a grant that does not cover the call is `unauthenticated`, HTTP 401.
      expect(await twirp(url, 'CreateRoom', { name: 'x' }, joinOnly)).toEqual({
        status: 401,
        json: { code: 'unauthenticated', msg: 'permissions denied' },
      });
      assert.equal((await twirp(url, 'ListRooms', {}, joinOnly)).status, 401);
      assert.equal((await twirp(url, 'ListParticipants', { room: 'guarded' }, otherRoomAdmin)).status, 401);
      const unsigned = await twirp(url, 'ListRooms', {}, wrongSecret);
      assert.equal(unsigned.status, 401);
      // The dev cluster says it in a Twirp body; LiveKit's auth layer in plain text ("invalid token: ...").
      if (engine === 'dev') assert.equal(codeOf(unsigned.json), 'unauthenticated');
      else
        assert.match(
          typeof unsigned.json === 'string' ? unsigned.json : JSON.stringify(unsigned.json),
          /^invalid token/,
        );
      assert.equal((await twirp(url, 'ListRooms', {})).status, 401);

      const admin = `Bearer ${await adminToken({ roomAdmin: true, room: 'nowhere' })}`;
      // As LiveKit answers it: a room that does not exist has nobody in it; GetParticipant there is not_found.
      expect(await twirp(url, 'ListParticipants', { room: 'nowhere' }, admin)).toEqual({
        status: 200,
        json: { participants: [] },
      });
      expect(await twirp(url, 'GetParticipant', { room: 'nowhere', identity: 'x' }, admin)).toMatchObject({
        status: 404,
        json: { code: 'not_found' },
      });
      assert.equal(codeOf((await twirp(url, 'NoSuchMethod', {}, admin)).json), 'bad_route');
      // Method names come from the URL: Object.prototype members are unknown methods too, not a crash.
      for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
        expect(await twirp(url, name, {}, admin)).toMatchObject({ status: 404, json: { code: 'bad_route' } });
      }
      await assert.rejects(
        new RoomServiceClient(url, API_KEY, 'wrong').listRooms(),
        (error: { status?: number }) => error.status === 401,
      );
    });

    it('speaks Twirp protobuf as well as JSON', async () => {
      const response = await fetch(`${url.replace(/^ws/, 'http')}/twirp/livekit.RoomService/CreateRoom`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/protobuf',
          Authorization: `Bearer ${await adminToken({ roomCreate: true })}`,
        },
        body: new CreateRoomRequest({ name: 'binary-room', maxParticipants: 3 }).toBinary(),
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/protobuf');
      const room = Room.fromBinary(new Uint8Array(await response.arrayBuffer()));
      assert.equal(room.name, 'binary-room');
      assert.equal(room.maxParticipants, 3);
    });

    it('signs webhooks as LiveKit does: WebhookReceiver accepts them, a changed byte is refused', async () => {
      const alice = await join('hooked', 'hook-room');
      await alice.next('join');
      alice.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED }) });
      const receiver = new WebhookReceiver(API_KEY, API_SECRET);
      // A signal-only client never becomes active: LiveKit reports it as an aborted connection.
      for (const event of ['room_started', 'participant_connection_aborted', 'room_finished']) {
        const hook = await sink.waitFor(
          (candidate) => candidate.event === event && candidate.body.includes('hook-room'),
          5_000,
        );
        assert.equal(hook.contentType, 'application/webhook+json');
        assert.doesNotMatch(hook.authorization ?? '', /^Bearer /);
        const verified = await receiver.receive(hook.body, hook.authorization);
        assert.equal(verified.event, event);
        assert.equal(verified.room?.name, 'hook-room');
        assert.match(verified.id, /^EV_/);
        if (event.startsWith('participant')) assert.equal(verified.participant?.identity, 'hooked');
        const tampered = hook.body.replace('hook-room', 'hook-roon');
        await assert.rejects(receiver.receive(tampered, hook.authorization), /sha256/);
      }
      const finished = await sink.waitFor(
        (candidate) => candidate.event === 'room_finished' && candidate.body.includes('hook-room'),
      );
      // protojson: lowerCamelCase names, int64 as strings.
      const json = JSON.parse(finished.body) as { createdAt?: unknown; room?: { creationTime?: unknown } };
      assert.equal(typeof json.createdAt, 'string');
      assert.equal(typeof json.room?.creationTime, 'string');
    });

    it('checks the join token: 401 on /rtc/validate and on the socket for a bad one', async () => {
      const base = url.replace(/^ws/, 'http');
      const good = await joinToken(API_KEY, API_SECRET, 'v', 'validate-room');
      const forged = await joinToken(API_KEY, 'another-secret', 'v', 'validate-room');
      // LiveKit allows a minute of clock skew past the expiry; two minutes is expired everywhere.
      const expired = new AccessToken(API_KEY, API_SECRET, { identity: 'v', ttl: -120 });
      expired.addGrant({ roomJoin: true, room: 'validate-room' });
      const noRoomGrant = new AccessToken(API_KEY, API_SECRET, { identity: 'v' });
      noRoomGrant.addGrant({ roomList: true });

      const ok = await fetch(`${base}/rtc/validate?access_token=${good}`);
      expect([ok.status, await ok.text()]).toEqual([200, 'success']);
      for (const token of [forged, await expired.toJwt(), 'garbage']) {
        assert.equal((await fetch(`${base}/rtc/validate?access_token=${token}`)).status, 401);
      }
      assert.equal((await fetch(`${base}/rtc/validate?access_token=${await noRoomGrant.toJwt()}`)).status, 401);
      await assert.rejects(RawSignalClient.connect(url, forged), /HTTP 401/);
    });

    it('takes the join token from an Authorization: Bearer header too (the Rust-core SDKs send it there)', async () => {
      const client = await RawSignalClient.connect(
        url,
        await joinToken(API_KEY, API_SECRET, 'bearer', 'bearer-room'),
        {},
        'header',
      );
      try {
        assert.equal((await client.next('join')).participant?.identity, 'bearer');
      } finally {
        client.close();
      }
      const forged = await joinToken(API_KEY, 'another-secret', 'bearer', 'bearer-room');
      await assert.rejects(RawSignalClient.connect(url, forged, {}, 'header'), /HTTP 401/);
    });

    it('the v1 signal path: LiveKit serves it; the dev cluster answers 404 at once, so livekit-client falls back', async () => {
      const base = url.replace(/^ws/, 'http');
      if (engine === 'livekit') {
        // Single-PC mode exists on the real server: the path checks the token like v0.
        assert.equal((await fetch(`${base}/rtc/v1/validate?access_token=x`)).status, 401);
        return;
      }
      assert.equal((await fetch(`${base}/rtc/v1/validate?access_token=x`)).status, 404);
      const token = await joinToken(API_KEY, API_SECRET, 'v1', 'v1-room');
      const started = Date.now();
      const status = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${url}/rtc/v1?access_token=${token}`);
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('the v1 path opened')));
        ws.once('error', () => undefined);
      });
      assert.equal(status, 404);
      assert.ok(Date.now() - started < 200, 'the refusal is immediate');
    });

    it('answers 400 to a request target no URL parser accepts, on plain HTTP and on an upgrade', async () => {
      const port = Number(new URL(url).port);
      const upgrade =
        'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
      for (const extra of ['', upgrade]) {
        const head = await new Promise<string>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () =>
            socket.write(`GET http://[ HTTP/1.1\r\nHost: x\r\n${extra}\r\n`),
          );
          let data = '';
          const timer = setTimeout(() => {
            socket.destroy();
            reject(new Error(`no answer within 2 s (got ${JSON.stringify(data)})`));
          }, 2_000);
          socket.on('data', (chunk) => {
            data += chunk.toString('utf8');
            if (data.includes('\r\n')) {
              clearTimeout(timer);
              socket.destroy();
              resolve(data.split('\r\n')[0]!);
            }
          });
          socket.on('error', reject);
        });
        assert.equal(head, 'HTTP/1.1 400 Bad Request');
      }
      const health = await fetch(`${url.replace(/^ws/, 'http')}/`);
      assert.equal(health.status, 200, 'the node still answers');
    });

    it('serves pings, ignores unknown messages, and closes only the connection that sends garbage', async () => {
      const steady = await join('steady', 'robust');
      await steady.next('join');
      const rogue = await join('rogue', 'robust');
      await rogue.next('join');

      rogue.send({ case: undefined });
      rogue.send({ case: 'ping', value: 1n });
      assert.equal(typeof (await rogue.next('pong')), 'bigint', 'still served after an empty message');

      rogue.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
      const closed = await Promise.race([
        rogue.closed,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not closed')), 3_000)),
      ]);
      // Both close only that connection; the dev cluster also says why (LiveKit closes it normally, 1000).
      if (engine === 'dev') {
        assert.equal(closed.code, 1003);
        assert.match(closed.reason, /unreadable signal message/);
      }

      steady.send({ case: 'pingReq', value: new Ping({ timestamp: 42n }) });
      assert.equal((await steady.next('pongResp')).lastPingTimestamp, 42n);
      assert.equal((await fetch(`${url.replace(/^ws/, 'http')}/`)).status, 200);
    });

    it('an offer that cannot be negotiated harms only its own connection (the dev cluster closes it with the reason)', async () => {
      const steady = await join('steady-2', 'negotiation');
      await steady.next('join');
      const broken = await join('broken', 'negotiation');
      await broken.next('join');
      // H264 only: the node speaks VP8, so no codec can be agreed.
      const h264Only = new RTCPeerConnection({ iceServers: [], iceUseIpv6: false, codecs: { video: [useH264()] } });
      h264Only.addTransceiver('video', { direction: 'sendonly' });
      const offer = await h264Only.createOffer();
      await h264Only.close();
      broken.send({ case: 'offer', value: new SessionDescription({ type: 'offer', sdp: offer.sdp, id: 1 }) });
      if (engine === 'dev') {
        const closed = await Promise.race([
          broken.closed,
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not closed')), 5_000)),
        ]);
        assert.equal(closed.code, 1011);
        assert.match(closed.reason, /publisher offer failed/);
      } else {
        // LiveKit keeps the connection (the client is left without an answer); either way the room goes on.
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      steady.send({ case: 'ping', value: 7n });
      assert.equal(typeof (await steady.next('pong')), 'bigint');
    });

    it('stays up when a peer vanishes in the middle of a negotiation', async () => {
      const peer = new RTCPeerConnection({ iceServers: [], iceUseIpv6: false });
      try {
        peer.addTransceiver('video', { direction: 'sendonly' });
        peer.createDataChannel('_reliable');
        const offer = await peer.createOffer();
        for (let round = 0; round < 3; round++) {
          const ghost = await join(`ghost-${round}`, 'vanishing');
          await ghost.next('join');
          ghost.send({ case: 'offer', value: new SessionDescription({ type: 'offer', sdp: offer.sdp, id: 1 }) });
          ghost.close();
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
        assert.equal((await fetch(`${url.replace(/^ws/, 'http')}/`)).status, 200);
        const after = await join('after-ghosts', 'vanishing');
        assert.equal((await after.next('join')).participant?.identity, 'after-ghosts');
      } finally {
        await peer.close();
      }
    });

    it('replaces a participant that joins again under the same identity', async () => {
      const first = await join('twin', 'dup-room');
      await first.next('join');
      const second = await join('twin', 'dup-room');
      await second.next('join');
      assert.equal((await first.next('leave')).reason, DisconnectReason.DUPLICATE_IDENTITY);
      expect((await rooms.listParticipants('dup-room')).map((participant) => participant.identity)).toEqual(['twin']);
    });

    it('tells a resuming client to join afresh (leave with RECONNECT)', async () => {
      const client = await join('resumer', 'resume-room', { reconnect: '1', sid: 'PA_unknown' });
      const leave = await client.next('leave');
      assert.equal(leave.action, LeaveRequest_Action.RECONNECT);
    });

    it('refuses a join beyond maxParticipants', async () => {
      await rooms.createRoom({ name: 'tiny', maxParticipants: 1 });
      const only = await join('only', 'tiny');
      await only.next('join');
      // The dev cluster refuses with 403; LiveKit v1.13.5 answers the upgrade with 500. Refused either way.
      await assert.rejects(join('second', 'tiny'), engine === 'dev' ? /HTTP 403/ : /HTTP 500/);
    });

    it("a first join creates the room with the token's roomConfig, and a CreateRoom after it finds that room", async () => {
      // The tokens a rebuild pushes, minted by the backend's own TokenService: they reach the new node
      // before its CreateRoom does.
      const tokens = new TokenService({ apiKey: API_KEY, apiSecret: API_SECRET } as AppConfig);
      const participant = {
        identity: 'first',
        name: 'First',
        metadata: '',
        grants: { canPublish: true, canSubscribe: true, canPublishData: true },
        rejoinKeyHash: '',
        state: 'invited' as const,
        invitedAt: 0,
      };
      const token = await tokens.mint('configured', participant, {
        metadata: 'from-token',
        emptyTimeoutSec: 40,
        departureTimeoutSec: 7,
        maxParticipants: 3,
      });
      const client = await RawSignalClient.connect(url, token);
      clients.push(client);
      await client.next('join');
      const [room] = await rooms.listRooms(['configured']);
      expect([room?.metadata, room?.maxParticipants, room?.emptyTimeout, room?.departureTimeout]).toEqual([
        'from-token',
        3,
        40,
        7,
      ]);
      const late = await rooms.createRoom({
        name: 'configured',
        metadata: 'from-token',
        maxParticipants: 3,
        emptyTimeout: 40,
        departureTimeout: 7,
      });
      assert.equal(late.sid, room?.sid, 'the same room, whoever created it');
    });
  },
);

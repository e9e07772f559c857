import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AccessToken } from 'livekit-server-sdk';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { OnAppEvent } from '../events/app-events';
import type { NodeTransitionEvent } from '../events/node.events';

/**
 * Whether a node creates a room when a participant joins one it does not hold (LiveKit's
 * `room.auto_create`, on by default). Where it does, a new session is answered as soon as it is stored:
 * the first participant's token creates the room with its settings (roomConfig), CreateRoom follows.
 */
export interface RoomAutoCreate {
  joinsCreateRooms(nodeUrl: string): Promise<boolean>;
}

export const ROOM_AUTO_CREATE = Symbol('RoomAutoCreate');

/**
 * How long the check waits for a node; a node that does not answer is taken as one that does not create
 * rooms. Asked once per node as it comes up, not per join: LiveKit took 0.25-0.95 s to answer here with
 * auto_create on (7-26 ms with it off), on a loaded 2-core machine.
 */
export const AUTO_CREATE_CHECK_TIMEOUT_MS = 3_000;
/** A node whose answer said neither (an error, a proxy's own status) is asked again after this long. */
export const AUTO_CREATE_RECHECK_MS = 30_000;

/**
 * Asks each node once, through the signal server's own validation endpoint: `GET /rtc/validate` with a
 * token for a room nobody holds answers 404 "requested room does not exist" when joins do not create rooms
 * (LiveKit's `ValidateCreateRoom`, pkg/service/roomallocator.go in v1.13.5), "success" when they do,
 * and creates nothing either way. Asked again after the node was down (it may come back configured
 * otherwise), and AUTO_CREATE_RECHECK_MS after an answer that said neither.
 */
@Injectable()
export class ValidateEndpointAutoCreate implements RoomAutoCreate {
  private readonly logger = new Logger('RoomAutoCreate');
  private readonly known = new Map<string, { answer: Promise<boolean | undefined>; askedAt: number }>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async joinsCreateRooms(nodeUrl: string): Promise<boolean> {
    let entry = this.known.get(nodeUrl);
    if (!entry) {
      entry = { answer: this.ask(nodeUrl), askedAt: Date.now() };
      this.known.set(nodeUrl, entry);
    }
    const joinsCreate = await entry.answer;
    if (
      joinsCreate === undefined &&
      Date.now() - entry.askedAt > AUTO_CREATE_RECHECK_MS &&
      this.known.get(nodeUrl) === entry
    )
      this.known.delete(nodeUrl);
    return joinsCreate ?? false;
  }

  /** Asked as a node comes up, so that the first new session there does not wait for the answer. */
  @OnAppEvent('node-up')
  askEarly(event: NodeTransitionEvent): void {
    void this.joinsCreateRooms(event.url);
  }

  @OnAppEvent('node-down')
  forget(event: NodeTransitionEvent): void {
    this.known.delete(event.url);
  }

  private async ask(nodeUrl: string): Promise<boolean | undefined> {
    const token = new AccessToken(this.config.apiKey, this.config.apiSecret, {
      identity: 'session-rebuilder-auto-create-check',
      ttl: 60,
    });
    token.addGrant({ roomJoin: true, room: `session-rebuilder-check-${randomUUID()}` });
    const url = new URL(`${nodeUrl.replace(/^ws/, 'http').replace(/\/+$/, '')}/rtc/validate`);
    url.searchParams.set('access_token', await token.toJwt());
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(AUTO_CREATE_CHECK_TIMEOUT_MS) });
      const body = await res.text();
      // LiveKit's 404 says why ("requested room does not exist"); a bare 404 is something else's (a
      // server that has no such endpoint), which says nothing about rooms.
      if (res.status === 200 || (res.status === 404 && /room/i.test(body))) {
        const joinsCreate = res.status === 200;
        this.logger.log(
          `${nodeUrl}: joins ${joinsCreate ? 'create rooms: new sessions do not wait for CreateRoom' : 'do not create rooms (room.auto_create off): new sessions wait for CreateRoom'}`,
        );
        return joinsCreate;
      }
      this.logger.warn(`${nodeUrl}: /rtc/validate answered ${res.status}; new sessions there wait for CreateRoom`);
    } catch (error) {
      this.logger.warn(
        `${nodeUrl}: /rtc/validate failed (${error instanceof Error ? error.message : String(error)}); new sessions there wait for CreateRoom`,
      );
    }
    return undefined;
  }
}

import { createHmac } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { RoomAgentDispatch, RoomConfiguration } from '@livekit/protocol';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import type { ParticipantRecord, RoomSettings } from './session.model';
import { TOKEN_TTL_SECONDS } from './session-policy';

/** The JOSE header of every token: HS256, as livekit-server-sdk's AccessToken writes it. */
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256' })).toString('base64url');

@Injectable()
export class TokenService {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /**
   * A LiveKit access token for room = sessionId, same identity/name/metadata/grants at every generation.
   * With `room`, the token carries the room's settings (LiveKit's `roomConfig` claim): the first
   * participant to reach a node where the room does not exist yet creates it with these settings, so a
   * rebuild can hand out tokens before its CreateRoom has returned. The room's agents go in as
   * `roomConfig.agents`: LiveKit dispatches them when that join creates the room on a node (once per
   * room object, so again on the node a rebuild moves the session to).
   */
  mint(sessionId: string, participant: ParticipantRecord, room?: RoomSettings): Promise<string> {
    // The claims livekit-server-sdk's AccessToken writes (name and metadata only when not empty, nbf now,
    // iss the API key, sub the identity), signed here at once with node's HMAC: the SDK's toJwt goes
    // through WebCrypto, ~0.1-0.2 ms a token, which a dead node's herd pays a thousand times at once.
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      ...(participant.metadata ? { metadata: participant.metadata } : {}),
      ...(participant.name ? { name: participant.name } : {}),
      video: {
        roomJoin: true,
        room: sessionId,
        canPublish: participant.grants.canPublish,
        canSubscribe: participant.grants.canSubscribe,
        canPublishData: participant.grants.canPublishData,
      },
      // Only the fields set go into the claim (toJson, not the message's every field): LiveKit parses it
      // strictly, and a server older than this SDK's protocol refuses a field it does not know.
      ...(room ? { roomConfig: roomConfiguration(room).toJson() } : {}),
      iss: this.config.apiKey,
      exp: now + TOKEN_TTL_SECONDS,
      nbf: now,
      sub: participant.identity,
    };
    const signed = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature = createHmac('sha256', this.config.apiSecret).update(signed).digest('base64url');
    return Promise.resolve(`${signed}.${signature}`);
  }
}

function roomConfiguration(room: RoomSettings): RoomConfiguration {
  return new RoomConfiguration({
    emptyTimeout: room.emptyTimeoutSec,
    departureTimeout: room.departureTimeoutSec,
    maxParticipants: room.maxParticipants,
    metadata: room.metadata,
    agents: (room.agents ?? []).map((agentName) => new RoomAgentDispatch({ agentName })),
  });
}

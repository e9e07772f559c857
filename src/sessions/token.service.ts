import { Inject, Injectable } from '@nestjs/common';
import { RoomAgentDispatch, RoomConfiguration } from '@livekit/protocol';
import { AccessToken } from 'livekit-server-sdk';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import type { ParticipantRecord, RoomSettings } from './session.model';
import { TOKEN_TTL_SECONDS } from './session-policy';

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
    const token = new AccessToken(this.config.apiKey, this.config.apiSecret, {
      identity: participant.identity,
      name: participant.name,
      metadata: participant.metadata,
      ttl: TOKEN_TTL_SECONDS,
    });
    token.addGrant({
      roomJoin: true,
      room: sessionId,
      canPublish: participant.grants.canPublish,
      canSubscribe: participant.grants.canSubscribe,
      canPublishData: participant.grants.canPublishData,
    });
    if (room) {
      const config = new RoomConfiguration({
        emptyTimeout: room.emptyTimeoutSec,
        departureTimeout: room.departureTimeoutSec,
        maxParticipants: room.maxParticipants,
        metadata: room.metadata,
        agents: (room.agents ?? []).map((agentName) => new RoomAgentDispatch({ agentName })),
      });
      // Only the fields set go into the claim (the message's own toJSON writes every field): LiveKit
      // parses it strictly, and a server older than this SDK's protocol refuses a field it does not know.
      token.roomConfig = Object.assign(config, { toJSON: () => config.toJson() });
    }
    return token.toJwt();
  }
}

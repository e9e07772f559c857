import { Inject, Injectable } from '@nestjs/common';
import { AccessToken } from 'livekit-server-sdk';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import type { ParticipantRecord } from './session.model';
import { TOKEN_TTL_SECONDS } from './session-policy';

@Injectable()
export class TokenService {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** A LiveKit access token for room = sessionId, same identity/name/metadata/grants at every generation. */
  mint(sessionId: string, participant: ParticipantRecord): Promise<string> {
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
    return token.toJwt();
  }
}

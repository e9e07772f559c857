import { ParticipantPermission, TrackSource } from '@livekit/protocol';
import { TokenVerifier, type ClaimGrants, type VideoGrant } from 'livekit-server-sdk';

/** A refused request; `status` is what the HTTP layer answers. */
export class AccessError extends Error {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
    this.name = AccessError.name;
  }
}

export interface JoinClaims {
  identity: string;
  name: string;
  metadata: string;
  attributes: Record<string, string>;
  room: string;
  permission: ParticipantPermission;
  /** The token's `roomConfig`: the settings a join creates a room with when the room does not exist yet, as on LiveKit. */
  roomConfig: { emptyTimeout?: number; departureTimeout?: number; maxParticipants?: number; metadata?: string };
}

const SOURCE_NAMES: Record<string, TrackSource> = {
  camera: TrackSource.CAMERA,
  microphone: TrackSource.MICROPHONE,
  screen_share: TrackSource.SCREEN_SHARE,
  screen_share_audio: TrackSource.SCREEN_SHARE_AUDIO,
};

/** LiveKit (go-jose's default leeway) accepts a token up to a minute past its expiry, for clock skew. */
const CLOCK_LEEWAY_S = 60;

/** Checks LiveKit access tokens the way a LiveKit node does: HS256 with the API secret, issuer = API key. */
export class Access {
  private readonly verifier: TokenVerifier;

  constructor(apiKey: string, apiSecret: string) {
    this.verifier = new TokenVerifier(apiKey, apiSecret);
  }

  async verifyJoin(token: string | null | undefined): Promise<JoinClaims> {
    const claims = await this.verify(token);
    const video = claims.video ?? {};
    // LiveKit answers these with 401 too ("no permissions to access the room").
    if (!video.roomJoin) throw new AccessError(401, 'no permissions to access the room: token has no roomJoin grant');
    if (!video.room) throw new AccessError(401, 'no permissions to access the room: token names no room');
    if (!claims.sub) throw new AccessError(401, 'token has no identity');
    return {
      identity: claims.sub,
      name: claims.name ?? '',
      metadata: claims.metadata ?? '',
      attributes: claims.attributes ?? {},
      room: video.room,
      permission: toPermission(video),
      roomConfig: roomConfigOf(claims.roomConfig),
    };
  }

  /** Twirp calls: `Authorization: Bearer <jwt>`; `allowed` says whether the grant covers the call. */
  async verifyApi(authorization: string | undefined, allowed: (grant: VideoGrant) => boolean): Promise<void> {
    const token = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
    const claims = await this.verify(token);
    // LiveKit answers a grant that does not cover the call as Twirp `unauthenticated` (HTTP 401), not 403.
    if (!allowed(claims.video ?? {})) throw new AccessError(401, 'permissions denied');
  }

  private async verify(token: string | null | undefined): Promise<ClaimGrants> {
    if (!token) throw new AccessError(401, 'no access token');
    try {
      return await this.verifier.verify(token, CLOCK_LEEWAY_S);
    } catch (error) {
      throw new AccessError(401, `invalid access token: ${(error as Error).message}`);
    }
  }
}

function toPermission(video: VideoGrant): ParticipantPermission {
  // LiveKit: publish / subscribe / publish-data default to allowed when the grant leaves them out.
  const sources = (video.canPublishSources ?? []) as unknown[];
  return new ParticipantPermission({
    canPublish: video.canPublish ?? true,
    canSubscribe: video.canSubscribe ?? true,
    canPublishData: video.canPublishData ?? true,
    canUpdateMetadata: video.canUpdateOwnMetadata ?? false,
    canPublishSources: sources
      .map((source) => (typeof source === 'string' ? SOURCE_NAMES[source] : Number(source)))
      .filter((source) => source !== undefined),
    hidden: video.hidden ?? false,
    recorder: video.recorder ?? false,
    agent: video.agent ?? false,
  });
}

/**
 * The roomConfig claim, protobuf JSON as LiveKit reads it (camelCase or the proto's snake_case names,
 * defaults left out); anything malformed counts as absent, field by field.
 */
function roomConfigOf(claim: unknown): JoinClaims['roomConfig'] {
  if (typeof claim !== 'object' || claim === null) return {};
  const c = claim as Record<string, unknown>;
  const count = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
  return {
    emptyTimeout: count(c.emptyTimeout ?? c.empty_timeout),
    departureTimeout: count(c.departureTimeout ?? c.departure_timeout),
    maxParticipants: count(c.maxParticipants ?? c.max_participants),
    metadata: typeof c.metadata === 'string' ? c.metadata : undefined,
  };
}

// Builds webhook requests exactly as a LiveKit server sends them: protojson body, header
// `Authorization: <JWT>` (no "Bearer"), HS256 with the API secret, iss = API key, claim sha256 =
// padded base64 of sha256(raw body).
import { createHash } from 'node:crypto';
import { ParticipantInfo, Room, WebhookEvent } from '@livekit/protocol';
import { SignJWT } from 'jose';
import { AccessToken } from 'livekit-server-sdk';

export interface WebhookInput {
  event: 'participant_joined' | 'participant_left' | 'room_finished' | 'room_started' | 'track_published';
  room: string;
  roomSid?: string;
  identity?: string;
  /** LiveKit's participant sid (one per connection); default `PA_<identity>`. */
  participantSid?: string;
  /** Event id; default a random `EV_` id. */
  id?: string;
  /** Unix seconds; default now. */
  createdAt?: number;
}

export function webhookBody(input: WebhookInput): string {
  // The protocol's class, not the SDK's subclass: that one resets `event` in its constructor.
  const event = new WebhookEvent({
    event: input.event,
    id: input.id ?? `EV_${Math.random().toString(36).slice(2, 10)}`,
    createdAt: BigInt(input.createdAt ?? Math.floor(Date.now() / 1000)),
    room: new Room({ name: input.room, sid: input.roomSid ?? '' }),
    participant: input.identity
      ? new ParticipantInfo({ identity: input.identity, sid: input.participantSid ?? `PA_${input.identity}` })
      : undefined,
  });
  return event.toJsonString();
}

/** `expiredSecondsAgo`: a token that was valid for LiveKit's 5 minutes and ran out that long ago (a replay). */
export async function signWebhook(
  body: string,
  apiKey: string,
  apiSecret: string,
  options: { expiredSecondsAgo?: number } = {},
): Promise<string> {
  const sha256 = createHash('sha256').update(body).digest('base64');
  if (options.expiredSecondsAgo !== undefined) {
    const exp = Math.floor(Date.now() / 1000) - options.expiredSecondsAgo;
    return new SignJWT({ sha256 })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(apiKey)
      .setNotBefore(exp - 5 * 60)
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(apiSecret));
  }
  const token = new AccessToken(apiKey, apiSecret, { ttl: 5 * 60 });
  token.sha256 = sha256;
  return token.toJwt();
}

export async function postWebhook(appUrl: string, body: string, authorization?: string): Promise<Response> {
  return fetch(`${appUrl}/webhooks/livekit`, {
    method: 'POST',
    headers: { 'content-type': 'application/webhook+json', ...(authorization !== undefined && { authorization }) },
    body,
    signal: AbortSignal.timeout(5000),
  });
}

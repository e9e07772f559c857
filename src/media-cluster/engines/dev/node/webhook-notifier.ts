import { createHash } from 'node:crypto';
import { WebhookEvent, type ParticipantInfo, type Room, type TrackInfo } from '@livekit/protocol';
import { AccessToken } from 'livekit-server-sdk';
import { newSid } from './sids';

export type WebhookEventName =
  | 'room_started'
  | 'room_finished'
  | 'participant_joined'
  | 'participant_left'
  | 'participant_connection_aborted'
  | 'track_published'
  | 'track_unpublished';

export interface WebhookSubject {
  room: Room;
  participant?: ParticipantInfo;
  track?: TrackInfo;
}

const REQUEST_TIMEOUT_MS = 3_000;
/** Delays before each retry; LiveKit retries failed deliveries a few times as well. */
const RETRY_DELAYS_MS = [200, 1_000];
const SIGNATURE_TTL = '10m';

/**
 * Posts signed webhooks, one at a time and in the order the events happened, the way a LiveKit node
 * does: protojson body, `Authorization: <JWT>` whose `sha256` claim is the body's digest.
 */
export class WebhookNotifier {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly url: string | undefined,
    private readonly apiKey: string,
    private readonly apiSecret: string,
    private readonly log: (line: string) => void,
  ) {}

  notify(event: WebhookEventName, subject: WebhookSubject): void {
    if (!this.url) return;
    const body = new WebhookEvent({
      id: newSid('EV_'),
      event,
      room: subject.room,
      participant: subject.participant,
      track: subject.track,
      createdAt: BigInt(Math.floor(Date.now() / 1000)),
    }).toJsonString();
    this.queue = this.queue.then(() => this.deliver(event, body));
  }

  /** Resolves once everything queued so far has been delivered or given up on. */
  flush(): Promise<void> {
    return this.queue;
  }

  private async deliver(event: WebhookEventName, body: string): Promise<void> {
    const token = new AccessToken(this.apiKey, this.apiSecret, { ttl: SIGNATURE_TTL });
    token.sha256 = createHash('sha256').update(body).digest('base64');
    const authorization = await token.toJwt();
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(this.url!, {
          method: 'POST',
          headers: { Authorization: authorization, 'Content-Type': 'application/webhook+json' },
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return;
        if (response.status < 500 || attempt >= RETRY_DELAYS_MS.length) {
          this.log(`webhook ${event} refused: HTTP ${response.status}`);
          return;
        }
      } catch (error) {
        if (attempt >= RETRY_DELAYS_MS.length) {
          this.log(`webhook ${event} not delivered: ${(error as Error).message}`);
          return;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
    }
  }
}

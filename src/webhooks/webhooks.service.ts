import { Inject, Injectable, Logger } from '@nestjs/common';
import { TokenVerifier, WebhookEvent, WebhookReceiver } from 'livekit-server-sdk';
import { createHash } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DomainError } from '../common/domain-error';
import { CLOCK, Clock } from '../common/clock';
import { ParticipantPresenceService, PresenceEvent, PresenceOutcome } from '../sessions/participant-presence.service';
import { RecentEventIds } from './recent-event-ids';
import { MetricsService } from '../ops/metrics.service';

export interface WebhookAck {
  event: string;
  outcome: PresenceOutcome | 'duplicate';
}

@Injectable()
export class WebhooksService {
  private readonly logger = new Logger(WebhooksService.name);
  private readonly receiver: WebhookReceiver;
  private readonly verifier: TokenVerifier;
  private readonly applied: RecentEventIds;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(CLOCK) clock: Clock,
    private readonly presence: ParticipantPresenceService,
    private readonly metrics: MetricsService,
  ) {
    this.applied = new RecentEventIds(() => clock.now());
    this.receiver = new WebhookReceiver(config.apiKey, config.apiSecret);
    this.verifier = new TokenVerifier(config.apiKey, config.apiSecret);
  }

  async receive(rawBody: unknown, authorization: string | undefined): Promise<WebhookAck> {
    try {
      return await this.receiveChecked(rawBody, authorization);
    } catch (error) {
      if (error instanceof DomainError) this.metrics.webhookRefused(error.code === 'unauthorized' ? 'signature' : 'body');
      throw error;
    }
  }

  private async receiveChecked(rawBody: unknown, authorization: string | undefined): Promise<WebhookAck> {
    if (typeof rawBody !== 'string' || rawBody.length === 0) throw new DomainError('bad-webhook', 'webhook body is empty');
    if (!authorization) throw new DomainError('unauthorized', 'webhook has no Authorization header');
    let event: WebhookEvent;
    try {
      event = await this.receiver.receive(rawBody, authorization);
    } catch (error) {
      // receive() checks the signature, then parses: tell a bad signature (401) from a bad body (400).
      if (await this.signatureMatches(rawBody, authorization)) {
        throw new DomainError('bad-webhook', `malformed webhook body: ${error instanceof Error ? error.message : String(error)}`);
      }
      throw new DomainError('unauthorized', 'webhook signature does not match');
    }
    // LiveKit retries a delivery it thinks failed: the same id is applied once.
    if (event.id && this.applied.has(event.id)) return { event: event.event, outcome: 'duplicate' };
    const outcome = await this.apply(event);
    if (event.id) this.applied.add(event.id);
    return { event: event.event, outcome };
  }

  private async apply(event: WebhookEvent): Promise<PresenceOutcome> {
    const sessionId = event.room?.name ?? '';
    const roomSid = event.room?.sid ?? '';
    const identity = event.participant?.identity ?? '';
    const seen: PresenceEvent = { connectionSid: event.participant?.sid ?? '', createdAt: Number(event.createdAt ?? 0) };
    switch (event.event) {
      case 'participant_joined':
        return identity ? this.presence.joined(sessionId, roomSid, identity, seen) : 'ignored';
      case 'participant_left':
      case 'participant_connection_aborted':
        return identity ? this.presence.left(sessionId, roomSid, identity, seen) : 'ignored';
      case 'room_finished':
        return this.presence.roomFinished(sessionId, roomSid);
      default:
        this.logger.debug(`webhook ${event.event} for ${sessionId || 'no room'}: nothing to update`);
        return 'ignored';
    }
  }

  private async signatureMatches(rawBody: string, authorization: string): Promise<boolean> {
    try {
      const claims = await this.verifier.verify(authorization);
      return claims.sha256 === createHash('sha256').update(rawBody).digest('base64');
    } catch {
      return false;
    }
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import { TokenVerifier, WebhookEvent, WebhookReceiver } from 'livekit-server-sdk';
import { createHash } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DomainError } from '../common/domain-error';
import { ParticipantPresenceService, PresenceEvent, PresenceOutcome } from '../sessions/participant-presence.service';
import { APPLIED_EVENT_IDS, AppliedEventIds } from './applied-event-ids';
import { MetricsService } from '../observability/metrics.service';

export interface WebhookAck {
  event: string;
  outcome: PresenceOutcome | 'duplicate';
}

@Injectable()
export class WebhooksService {
  private readonly logger = new Logger(WebhooksService.name);
  private readonly receiver: WebhookReceiver;
  private readonly verifier: TokenVerifier;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(APPLIED_EVENT_IDS) private readonly appliedIds: AppliedEventIds,
    private readonly presence: ParticipantPresenceService,
    private readonly metrics: MetricsService,
  ) {
    this.receiver = new WebhookReceiver(config.apiKey, config.apiSecret);
    this.verifier = new TokenVerifier(config.apiKey, config.apiSecret);
  }

  async receive(rawBody: unknown, authorization: string | undefined): Promise<WebhookAck> {
    return this.counted(() => this.receiveChecked(rawBody, authorization));
  }

  /**
   * Before the body is read: the header must be LiveKit's signature, a JWT issued by the API key, signed
   * with its secret and not expired. The body's sha256 in it is checked once the body is there.
   */
  async checkAuthorization(authorization: string | undefined): Promise<void> {
    await this.counted(async () => {
      if (!authorization) throw new DomainError('unauthorized', 'webhook has no Authorization header');
      try {
        await this.verifier.verify(authorization);
      } catch {
        throw new DomainError('unauthorized', 'webhook Authorization is not a signature by this API key');
      }
    });
  }

  /** Refusals counted for operators; a store outage (503, LiveKit retries) is no refusal. */
  private async counted<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DomainError && error.code === 'unauthorized') this.metrics.webhookRefused('signature');
      if (error instanceof DomainError && error.code === 'bad-webhook') this.metrics.webhookRefused('body');
      throw error;
    }
  }

  private async receiveChecked(rawBody: unknown, authorization: string | undefined): Promise<WebhookAck> {
    if (typeof rawBody !== 'string' || rawBody.length === 0)
      throw new DomainError('bad-webhook', 'webhook body is empty');
    if (!authorization) throw new DomainError('unauthorized', 'webhook has no Authorization header');
    let event: WebhookEvent;
    try {
      event = await this.receiver.receive(rawBody, authorization);
    } catch (error) {
      // receive() checks the signature, then parses: tell a bad signature (401) from a bad body (400).
      if (await this.signatureMatches(rawBody, authorization)) {
        throw new DomainError(
          'bad-webhook',
          `malformed webhook body: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      throw new DomainError('unauthorized', 'webhook signature does not match');
    }
    // LiveKit retries a delivery it thinks failed, to whichever instance: the same id is applied once.
    if (!event.id) return { event: event.event, outcome: await this.apply(event) };
    if (!(await this.appliedIds.claim(event.id))) return { event: event.event, outcome: 'duplicate' };
    let outcome: PresenceOutcome;
    try {
      outcome = await this.apply(event);
    } catch (error) {
      // Given back, so that LiveKit's retry (it gets a 503) is applied; else the claim expires.
      await this.appliedIds
        .release(event.id)
        .catch((cause: unknown) =>
          this.logger.warn(`webhook ${event.id} not released after a failed apply: ${String(cause)}`),
        );
      throw error;
    }
    await this.appliedIds
      .applied(event.id)
      .catch((cause: unknown) => this.logger.warn(`webhook ${event.id} applied but not remembered: ${String(cause)}`));
    return { event: event.event, outcome };
  }

  private async apply(event: WebhookEvent): Promise<PresenceOutcome> {
    const sessionId = event.room?.name ?? '';
    const roomSid = event.room?.sid ?? '';
    const identity = event.participant?.identity ?? '';
    const seen: PresenceEvent = {
      connectionSid: event.participant?.sid ?? '',
      createdAt: Number(event.createdAt ?? 0),
    };
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

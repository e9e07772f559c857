import assert from 'node:assert/strict';
import { describe, expect, it } from '@jest/globals';
import { WebhookReceiver } from 'livekit-server-sdk';
import { parseConfig } from '../config/parse-config';
import { DomainError } from '../common/domain-error';
import type { ParticipantPresenceService } from '../sessions/participant-presence.service';
import { signWebhook, webhookBody } from '../../test/support/livekit-webhook';
import type { MetricsService } from '../observability/metrics.service';
import { StoreUnavailableError } from '../sessions/store/store.errors';
import { MemoryAppliedEventIds } from '../backplane/memory/memory-applied-event-ids';
import { WebhooksService } from './webhooks.service';

function setup() {
  const config = parseConfig(['--api-key', 'APIkey', '--secret', 'a-secret-of-reasonable-length-000'], {});
  const calls: string[] = [];
  /** What the next participant_joined does: answers at once, waits for a gate, or fails as the store would. */
  const joining: { gate?: Promise<void>; fail?: boolean } = {};
  const presence = {
    joined: async (s: string, sid: string, id: string) => {
      calls.push(`joined ${s} ${sid} ${id}`);
      await joining.gate;
      if (joining.fail) throw new StoreUnavailableError(new Error('Command timed out'));
      return 'applied' as const;
    },
    left: async (s: string, sid: string, id: string) => (calls.push(`left ${s} ${sid} ${id}`), 'applied' as const),
    roomFinished: async (s: string, sid: string) => (calls.push(`finished ${s} ${sid}`), 'applied' as const),
  } as unknown as ParticipantPresenceService;
  const refused: string[] = [];
  const metrics = { webhookRefused: (reason: string) => refused.push(reason) } as unknown as MetricsService;
  return {
    config,
    calls,
    joining,
    refused,
    service: new WebhooksService(config, new MemoryAppliedEventIds(() => Date.now()), presence, metrics),
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string) {
  await assert.rejects(promise, (error: unknown) => error instanceof DomainError && error.code === code);
}

describe(WebhooksService.name, () => {
  it('accepts an event signed like the LiveKit server signs it (sha256 claim) and routes it', async () => {
    const { config, calls, service } = setup();
    const body = webhookBody({ event: 'participant_joined', room: 'daily', roomSid: 'RM_1', identity: 'ann-1' });
    const auth = await signWebhook(body, config.apiKey, config.apiSecret);
    // The SDK's own receiver agrees the signature is right: the signer is faithful.
    assert.equal(
      (await new WebhookReceiver(config.apiKey, config.apiSecret).receive(body, auth)).event,
      'participant_joined',
    );
    expect(await service.receive(body, auth)).toEqual({ event: 'participant_joined', outcome: 'applied' });
    const left = webhookBody({ event: 'participant_left', room: 'daily', roomSid: 'RM_1', identity: 'ann-1' });
    await service.receive(left, await signWebhook(left, config.apiKey, config.apiSecret));
    const finished = webhookBody({ event: 'room_finished', room: 'daily', roomSid: 'RM_1' });
    await service.receive(finished, await signWebhook(finished, config.apiKey, config.apiSecret));
    expect(calls).toEqual(['joined daily RM_1 ann-1', 'left daily RM_1 ann-1', 'finished daily RM_1']);
  });

  it('401 without a header, with a wrong secret, a wrong key, or the signature of another body', async () => {
    const { config, calls, refused, service } = setup();
    const body = webhookBody({ event: 'participant_joined', room: 'daily', identity: 'ann-1' });
    await rejectsWith(service.receive(body, undefined), 'unauthorized');
    await rejectsWith(
      service.receive(body, await signWebhook(body, config.apiKey, 'another-secret-another-secret-00')),
      'unauthorized',
    );
    await rejectsWith(service.receive(body, await signWebhook(body, 'OtherKey', config.apiSecret)), 'unauthorized');
    await rejectsWith(
      service.receive(body, await signWebhook(body.replace('ann-1', 'eve-1'), config.apiKey, config.apiSecret)),
      'unauthorized',
    );
    await rejectsWith(service.receive(body, 'not-a-jwt'), 'unauthorized');
    expect(calls).toEqual([]); // nothing reached the registry
    expect(refused).toEqual(Array(5).fill('signature')); // each counted for operators
  });

  it('400 for a correctly signed but malformed body', async () => {
    const { config, refused, service } = setup();
    for (const body of ['{"event":', '[1,2]', '{"room": {"name": 5}}']) {
      await rejectsWith(service.receive(body, await signWebhook(body, config.apiKey, config.apiSecret)), 'bad-webhook');
    }
    await rejectsWith(service.receive('', 'x'), 'bad-webhook');
    expect(refused).toEqual(Array(4).fill('body'));
  });

  it('two deliveries of one event at once: one applies it, the other is a duplicate', async () => {
    const { config, calls, joining, service } = setup();
    const body = webhookBody({
      event: 'participant_joined',
      room: 'daily',
      roomSid: 'RM_1',
      identity: 'ann-1',
      id: 'EV_twice',
    });
    const auth = await signWebhook(body, config.apiKey, config.apiSecret);
    let open!: () => void;
    joining.gate = new Promise((resolve) => (open = resolve));
    const first = service.receive(body, auth);
    const second = service.receive(body, auth);
    // The first holds the apply open until the second has answered, or reached the apply too.
    let secondSettled = false;
    void second.finally(() => (secondSettled = true));
    const deadline = Date.now() + 2_000;
    while (!secondSettled && calls.length < 2 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 1));
    open();
    expect((await Promise.all([first, second])).map((ack) => ack.outcome).sort()).toEqual(['applied', 'duplicate']);
    expect(calls).toEqual(['joined daily RM_1 ann-1']);
  });

  it("an apply that fails gives the id back: LiveKit's retry of the delivery is applied", async () => {
    const { config, calls, joining, service } = setup();
    const body = webhookBody({
      event: 'participant_joined',
      room: 'daily',
      roomSid: 'RM_1',
      identity: 'ann-1',
      id: 'EV_retried',
    });
    const auth = await signWebhook(body, config.apiKey, config.apiSecret);
    joining.fail = true;
    await rejectsWith(service.receive(body, auth), 'store-unavailable');
    joining.fail = false;
    expect(await service.receive(body, auth)).toEqual({ event: 'participant_joined', outcome: 'applied' });
    expect(await service.receive(body, auth)).toEqual({ event: 'participant_joined', outcome: 'duplicate' });
    expect(calls).toHaveLength(2);
  });

  it("checks the Authorization alone, before any body: LiveKit's signature or 401, each refusal counted", async () => {
    const { config, refused, service } = setup();
    const body = webhookBody({ event: 'participant_joined', room: 'daily', identity: 'ann-1' });
    await service.checkAuthorization(await signWebhook(body, config.apiKey, config.apiSecret));
    await service.checkAuthorization(await signWebhook('another body', config.apiKey, config.apiSecret)); // the sha256 waits for the body
    await rejectsWith(service.checkAuthorization(undefined), 'unauthorized');
    await rejectsWith(service.checkAuthorization('not-a-jwt'), 'unauthorized');
    await rejectsWith(
      service.checkAuthorization(await signWebhook(body, config.apiKey, 'another-secret-another-secret-00')),
      'unauthorized',
    );
    await rejectsWith(
      service.checkAuthorization(await signWebhook(body, 'OtherKey', config.apiSecret)),
      'unauthorized',
    );
    await rejectsWith(
      service.checkAuthorization(await signWebhook(body, config.apiKey, config.apiSecret, { expiredSecondsAgo: 60 })),
      'unauthorized',
    );
    expect(refused).toEqual(Array(5).fill('signature'));
  });
});

import assert from 'node:assert/strict';
import { describe, expect, it } from '@jest/globals';
import { TokenVerifier } from 'livekit-server-sdk';
import { parseConfig } from '../config/parse-config';
import { TokenService } from './token.service';
import { TOKEN_TTL_SECONDS } from './session-policy';

describe(TokenService.name, () => {
  it('mints a LiveKit token for room = sessionId with identity, name, metadata, grants and a short TTL', async () => {
    const config = parseConfig(['--api-key', 'APIk', '--secret', 'secret-for-tokens-secret-for-tokens'], {});
    const token = await new TokenService(config).mint('team-42', {
      identity: 'ann-abc123',
      name: 'Ann É',
      metadata: '{"role":"host"}',
      grants: { canPublish: false, canSubscribe: true, canPublishData: true },
      rejoinKeyHash: 'x',
      state: 'invited',
      invitedAt: 0,
    });
    const claims = await new TokenVerifier(config.apiKey, config.apiSecret).verify(token);
    assert.equal(claims.iss, 'APIk');
    assert.equal(claims.sub, 'ann-abc123');
    assert.equal(claims.name, 'Ann É');
    assert.equal(claims.metadata, '{"role":"host"}');
    expect(claims.video).toEqual({
      roomJoin: true,
      room: 'team-42',
      canPublish: false,
      canSubscribe: true,
      canPublishData: true,
    });
    const ttl = (claims.exp as number) - (claims.nbf as number);
    assert.equal(ttl, TOKEN_TTL_SECONDS);
    assert.ok(ttl <= 15 * 60, 'minutes, not the SDK default of 6 h');
    await assert.rejects(new TokenVerifier(config.apiKey, 'another-secret-another-secret-xx').verify(token));
  });

  it("with the room's settings, carries them as LiveKit's roomConfig claim (what a node creates the room with on a first join)", async () => {
    const config = parseConfig(['--api-key', 'APIk', '--secret', 'secret-for-tokens-secret-for-tokens'], {});
    const participant = {
      identity: 'ann-abc123',
      name: 'Ann',
      metadata: '',
      grants: { canPublish: true, canSubscribe: true, canPublishData: true },
      rejoinKeyHash: 'x',
      state: 'invited' as const,
      invitedAt: 0,
    };
    const room = { metadata: '{"topic":"standup"}', emptyTimeoutSec: 120, departureTimeoutSec: 15, maxParticipants: 6 };
    const verifier = new TokenVerifier(config.apiKey, config.apiSecret);
    const claims = await verifier.verify(await new TokenService(config).mint('team-42', participant, room));
    expect(claims.roomConfig).toEqual({
      emptyTimeout: 120,
      departureTimeout: 15,
      maxParticipants: 6,
      metadata: '{"topic":"standup"}',
    });
    assert.equal(
      (await verifier.verify(await new TokenService(config).mint('team-42', participant))).roomConfig,
      undefined,
    );
  });

  it("a room's agents go in as roomConfig.agents, one explicit dispatch per name; none asked, none written", async () => {
    const config = parseConfig(['--api-key', 'APIk', '--secret', 'secret-for-tokens-secret-for-tokens'], {});
    const participant = {
      identity: 'ann-abc123',
      name: 'Ann',
      metadata: '',
      grants: { canPublish: true, canSubscribe: true, canPublishData: true },
      rejoinKeyHash: 'x',
      state: 'invited' as const,
      invitedAt: 0,
    };
    const room = { metadata: '', emptyTimeoutSec: 300, departureTimeoutSec: 20, maxParticipants: 0 };
    const verifier = new TokenVerifier(config.apiKey, config.apiSecret);
    const tokens = new TokenService(config);
    const withAgents = await verifier.verify(
      await tokens.mint('team-42', participant, { ...room, agents: ['echo', 'note-taker'] }),
    );
    expect(withAgents.roomConfig).toEqual({
      emptyTimeout: 300,
      departureTimeout: 20,
      agents: [{ agentName: 'echo' }, { agentName: 'note-taker' }],
    });
    for (const agents of [undefined, []]) {
      const claims = await verifier.verify(await tokens.mint('team-42', participant, { ...room, agents }));
      expect(claims.roomConfig).toEqual({ emptyTimeout: 300, departureTimeout: 20 });
    }
  });
});

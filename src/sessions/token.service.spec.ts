import assert from 'node:assert/strict';
import { describe, expect, it } from '@jest/globals';
import { RoomAgentDispatch, RoomConfiguration } from '@livekit/protocol';
import { AccessToken, TokenVerifier } from 'livekit-server-sdk';
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

  it("writes the very header and claims livekit-server-sdk's AccessToken writes for the same participant and room", async () => {
    const config = parseConfig(['--api-key', 'APIk', '--secret', 'secret-for-tokens-secret-for-tokens'], {});
    const room = { metadata: 'm', emptyTimeoutSec: 60, departureTimeoutSec: 5, maxParticipants: 3, agents: ['echo'] };
    type Claims = Record<string, unknown> & { nbf: number; exp: number };
    const decode = (token: string): [Record<string, unknown>, Claims] => {
      const [header, claims] = token.split('.').map((part) => Buffer.from(part, 'base64url').toString());
      return [JSON.parse(header!) as Record<string, unknown>, JSON.parse(claims!) as Claims];
    };
    for (const [name, metadata] of [
      ['Ann É', '{"role":"host"}'],
      ['', ''],
    ] as const) {
      const participant = {
        identity: 'ann-abc123',
        name,
        metadata,
        grants: { canPublish: false, canSubscribe: true, canPublishData: true },
        rejoinKeyHash: 'x',
        state: 'invited' as const,
        invitedAt: 0,
      };
      for (const settings of [room, undefined]) {
        const sdk = new AccessToken(config.apiKey, config.apiSecret, {
          identity: 'ann-abc123',
          name,
          metadata,
          ttl: TOKEN_TTL_SECONDS,
        });
        sdk.addGrant({ roomJoin: true, room: 'team-42', canPublish: false, canSubscribe: true, canPublishData: true });
        if (settings) {
          const roomConfig = new RoomConfiguration({
            emptyTimeout: 60,
            departureTimeout: 5,
            maxParticipants: 3,
            metadata: 'm',
            agents: [new RoomAgentDispatch({ agentName: 'echo' })],
          });
          sdk.roomConfig = Object.assign(roomConfig, { toJSON: () => roomConfig.toJson() });
        }
        const [ours, theirs] = await Promise.all([
          new TokenService(config).mint('team-42', participant, settings),
          sdk.toJwt(),
        ]);
        const [[ourHeader, ourClaims], [theirHeader, theirClaims]] = [decode(ours), decode(theirs)];
        expect(ourHeader).toEqual(theirHeader);
        // Minted within the same second, or a second apart.
        assert.ok(Math.abs(ourClaims.nbf - theirClaims.nbf) <= 1);
        expect({ ...ourClaims, nbf: 0, exp: ourClaims.exp - ourClaims.nbf }).toEqual({
          ...theirClaims,
          nbf: 0,
          exp: theirClaims.exp - theirClaims.nbf,
        });
      }
    }
  });
});

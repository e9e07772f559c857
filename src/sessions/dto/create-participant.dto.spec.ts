import assert from 'node:assert/strict';
import { describe, expect, it } from '@jest/globals';
import type { ArgumentMetadata } from '@nestjs/common';
import { createValidationPipe } from '../../common/validation.pipe';
import { DomainError } from '../../common/domain-error';
import { CreateParticipantDto } from './create-participant.dto';
import { LeaveDto } from './leave.dto';
import { RejoinDto } from './rejoin.dto';
import { SessionParamsDto } from './session-params.dto';

const pipe = createValidationPipe();
const body = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'body', metatype });

async function fieldsRejected(value: unknown, metatype: ArgumentMetadata['metatype']): Promise<string[]> {
  try {
    await pipe.transform(value, body(metatype));
  } catch (error) {
    assert.ok(error instanceof DomainError && error.code === 'validation-failed');
    return Object.keys(error.details ?? {}).sort();
  }
  return [];
}

describe('request validation', () => {
  it('accepts a name with metadata and room settings', async () => {
    expect(
      await fieldsRejected(
        { name: 'Zoë Ünal', metadata: '{}', room: { metadata: 'x', maxParticipants: 4 } },
        CreateParticipantDto,
      ),
    ).toEqual([]);
  });

  it('names: 1-64 printable characters, not blank', async () => {
    expect(await fieldsRejected({ name: '' }, CreateParticipantDto)).toEqual(['name']);
    expect(await fieldsRejected({ name: '   ' }, CreateParticipantDto)).toEqual(['name']);
    expect(await fieldsRejected({ name: 'x'.repeat(65) }, CreateParticipantDto)).toEqual(['name']);
    expect(await fieldsRejected({ name: 'tab\there' }, CreateParticipantDto)).toEqual(['name']);
    expect(await fieldsRejected({ name: 42 }, CreateParticipantDto)).toEqual(['name']);
    expect(await fieldsRejected({ name: 'x'.repeat(64) }, CreateParticipantDto)).toEqual([]);
    // Invisible and direction-changing characters: soft hyphen, zero-width space, right-to-left override.
    for (const name of ['a\u00adb', 'a\u200bb', 'a\u202eb', '\u3000\u00a0'])
      expect(await fieldsRejected({ name }, CreateParticipantDto)).toEqual(['name']);
    // 64 characters, not 64 UTF-16 units; a line separator is a space, not the end of the name.
    expect(await fieldsRejected({ name: '😀'.repeat(64) }, CreateParticipantDto)).toEqual([]);
    expect(await fieldsRejected({ name: '😀'.repeat(65) }, CreateParticipantDto)).toEqual(['name']);
    expect(await fieldsRejected({ name: '\u2028Ann' }, CreateParticipantDto)).toEqual([]);
  });

  it('an optional field may be left out, not sent as null; room settings are an object', async () => {
    expect(await fieldsRejected({ name: 'a', metadata: null }, CreateParticipantDto)).toEqual(['metadata']);
    expect(await fieldsRejected({ name: 'a', room: null }, CreateParticipantDto)).toEqual(['room']);
    expect(await fieldsRejected({ name: 'a', room: [] }, CreateParticipantDto)).toEqual(['room']);
    expect(await fieldsRejected({ name: 'a', room: { emptyTimeoutSec: null } }, CreateParticipantDto)).toEqual([
      'room.emptyTimeoutSec',
    ]);
    expect(await fieldsRejected({ rejoinKey: 'k', failedUrl: null }, RejoinDto)).toEqual(['failedUrl']);
  });

  it('metadata at most 4 KiB of UTF-8, unknown fields rejected, nested settings checked', async () => {
    expect(await fieldsRejected({ name: 'a', metadata: 'é'.repeat(2049) }, CreateParticipantDto)).toEqual(['metadata']);
    expect(await fieldsRejected({ name: 'a', metadata: 'e'.repeat(4096) }, CreateParticipantDto)).toEqual([]);
    expect(await fieldsRejected({ name: 'a', isAdmin: true }, CreateParticipantDto)).toEqual(['isAdmin']);
    expect(await fieldsRejected({ name: 'a', room: { maxParticipants: -1, x: 1 } }, CreateParticipantDto)).toEqual([
      'room.maxParticipants',
      'room.x',
    ]);
  });

  it('room agents: a list of at most 4 distinct agent names, each short and plain', async () => {
    const agents = (list: unknown) => fieldsRejected({ name: 'a', room: { agents: list } }, CreateParticipantDto);
    expect(await agents(['echo'])).toEqual([]);
    expect(await agents(['echo', 'note-taker', 'a.b_c', 'x'.repeat(64)])).toEqual([]);
    expect(await agents([])).toEqual([]);
    for (const bad of [
      'echo',
      null,
      ['echo', 'echo'],
      ['a', 'b', 'c', 'd', 'e'],
      [''],
      ['x'.repeat(65)],
      ['-leading-dash'],
      ['has space'],
      ['slash/no'],
      [42],
      [null],
    ])
      expect(await agents(bad)).toEqual(['room.agents']);
  });

  it('session ids and rejoin bodies', async () => {
    expect(await fieldsRejected({ sessionId: 'ok_ID-1' }, SessionParamsDto)).toEqual([]);
    expect(await fieldsRejected({ sessionId: 'no spaces' }, SessionParamsDto)).toEqual(['sessionId']);
    expect(await fieldsRejected({ sessionId: 'x'.repeat(129) }, SessionParamsDto)).toEqual(['sessionId']);
    expect(await fieldsRejected({ rejoinKey: 'k', failedUrl: 'http://x' }, RejoinDto)).toEqual(['failedUrl']);
    expect(await fieldsRejected({ failedUrl: 'ws://127.0.0.1:7880' }, RejoinDto)).toEqual(['rejoinKey']);
    for (const failedUrl of ['ws://', 'ws://a b', 'ws:/a', ' ws://a', 'wss://a\n'])
      expect(await fieldsRejected({ rejoinKey: 'k', failedUrl }, RejoinDto)).toEqual(['failedUrl']);
    for (const failedUrl of ['wss://media.example.com', 'ws://[::1]:7880/rtc?x=1', 'wss://nœud.example/#'])
      expect(await fieldsRejected({ rejoinKey: 'k', failedUrl }, RejoinDto)).toEqual([]);
    expect(await fieldsRejected({ rejoinKey: 'k', failedUrl: `ws://${'a'.repeat(2043)}` }, RejoinDto)).toEqual([]);
    expect(await fieldsRejected({ rejoinKey: 'k', failedUrl: `ws://${'a'.repeat(2044)}` }, RejoinDto)).toEqual([
      'failedUrl',
    ]);
    // A key of 1-256 characters as JSON Schema counts them (variation selectors included).
    expect(await fieldsRejected({ rejoinKey: 'k'.repeat(256) }, LeaveDto)).toEqual([]);
    expect(await fieldsRejected({ rejoinKey: 'k' + '\ufe0f'.repeat(256) }, LeaveDto)).toEqual(['rejoinKey']);
    expect(await fieldsRejected({ rejoinKey: '' }, LeaveDto)).toEqual(['rejoinKey']);
    expect(await fieldsRejected({ rejoinKey: 'k', failedUrl: 'ws://a' }, LeaveDto)).toEqual(['failedUrl']);
  });
});

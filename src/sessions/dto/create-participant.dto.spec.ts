import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ArgumentMetadata } from '@nestjs/common';
import { createValidationPipe } from '../../common/validation.pipe';
import { DomainError } from '../../common/domain-error';
import { CreateParticipantDto } from './create-participant.dto';
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
    assert.deepEqual(await fieldsRejected({ name: 'Zoë Ünal', metadata: '{}', room: { metadata: 'x', maxParticipants: 4 } }, CreateParticipantDto), []);
  });

  it('names: 1-64 printable characters, not blank', async () => {
    assert.deepEqual(await fieldsRejected({ name: '' }, CreateParticipantDto), ['name']);
    assert.deepEqual(await fieldsRejected({ name: '   ' }, CreateParticipantDto), ['name']);
    assert.deepEqual(await fieldsRejected({ name: 'x'.repeat(65) }, CreateParticipantDto), ['name']);
    assert.deepEqual(await fieldsRejected({ name: 'tab\there' }, CreateParticipantDto), ['name']);
    assert.deepEqual(await fieldsRejected({ name: 42 }, CreateParticipantDto), ['name']);
    assert.deepEqual(await fieldsRejected({ name: 'x'.repeat(64) }, CreateParticipantDto), []);
  });

  it('metadata at most 4 KiB of UTF-8, unknown fields rejected, nested settings checked', async () => {
    assert.deepEqual(await fieldsRejected({ name: 'a', metadata: 'é'.repeat(2049) }, CreateParticipantDto), ['metadata']);
    assert.deepEqual(await fieldsRejected({ name: 'a', metadata: 'e'.repeat(4096) }, CreateParticipantDto), []);
    assert.deepEqual(await fieldsRejected({ name: 'a', isAdmin: true }, CreateParticipantDto), ['isAdmin']);
    assert.deepEqual(await fieldsRejected({ name: 'a', room: { maxParticipants: -1, x: 1 } }, CreateParticipantDto), ['room.maxParticipants', 'room.x']);
  });

  it('session ids and rejoin bodies', async () => {
    assert.deepEqual(await fieldsRejected({ sessionId: 'ok_ID-1' }, SessionParamsDto), []);
    assert.deepEqual(await fieldsRejected({ sessionId: 'no spaces' }, SessionParamsDto), ['sessionId']);
    assert.deepEqual(await fieldsRejected({ sessionId: 'x'.repeat(129) }, SessionParamsDto), ['sessionId']);
    assert.deepEqual(await fieldsRejected({ rejoinKey: 'k', failedUrl: 'http://x' }, RejoinDto), ['failedUrl']);
    assert.deepEqual(await fieldsRejected({ failedUrl: 'ws://127.0.0.1:7880' }, RejoinDto), ['rejoinKey']);
  });
});

import { Injectable } from '@nestjs/common';
import { KeyedLock } from '../common/keyed-lock';

/** One lock per session id, shared by every writer of a session record (join, rebuild, webhooks). */
@Injectable()
export class SessionLocks extends KeyedLock {}

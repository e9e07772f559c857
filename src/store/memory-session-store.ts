import { Injectable } from '@nestjs/common';
import type { SessionRecord } from '../sessions/session.model';
import type { SessionStore } from './session-store';

/** The embedded default: one process, nothing lost while it lives. */
@Injectable()
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const session = this.sessions.get(sessionId);
    return session ? structuredClone(session) : undefined;
  }

  async save(session: SessionRecord): Promise<void> {
    this.sessions.set(session.sessionId, structuredClone(session));
  }

  async delete(sessionId: string): Promise<void> {
    this.sessions.delete(sessionId);
  }

  async list(): Promise<SessionRecord[]> {
    return [...this.sessions.values()].map((session) => structuredClone(session));
  }

  async listByNode(nodeUrl: string): Promise<SessionRecord[]> {
    // Filtered before copying: a rebuild of one node need not clone every other node's sessions.
    return [...this.sessions.values()].filter((session) => session.nodeUrl === nodeUrl).map((session) => structuredClone(session));
  }
}

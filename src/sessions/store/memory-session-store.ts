import { Injectable } from '@nestjs/common';
import { activeParticipants, type SessionRecord } from '../session.model';
import type { NodeLoadCount, SessionStore } from './session-store';

/** What one record adds to its node's load; a session waiting for a node adds nothing anywhere. */
function contribution(session: SessionRecord): { url: string; participants: number } | undefined {
  return session.waitingForNode ? undefined : { url: session.nodeUrl, participants: activeParticipants(session).length };
}

/** The embedded default: one process, nothing lost while it lives. */
@Injectable()
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly loads = new Map<string, NodeLoadCount>();

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const session = this.sessions.get(sessionId);
    return session ? structuredClone(session) : undefined;
  }

  async save(session: SessionRecord): Promise<void> {
    this.count(this.sessions.get(session.sessionId), -1);
    const copy = structuredClone(session);
    this.sessions.set(session.sessionId, copy);
    this.count(copy, +1);
  }

  async delete(sessionId: string): Promise<void> {
    this.count(this.sessions.get(sessionId), -1);
    this.sessions.delete(sessionId);
  }

  async list(): Promise<SessionRecord[]> {
    return [...this.sessions.values()].map((session) => structuredClone(session));
  }

  async listByNode(nodeUrl: string): Promise<SessionRecord[]> {
    // Filtered before copying: a rebuild of one node need not clone every other node's sessions.
    return [...this.sessions.values()].filter((session) => session.nodeUrl === nodeUrl).map((session) => structuredClone(session));
  }

  async loadByNode(): Promise<Map<string, NodeLoadCount>> {
    return new Map([...this.loads].map(([url, load]) => [url, { ...load }]));
  }

  private count(session: SessionRecord | undefined, sign: 1 | -1): void {
    const part = session && contribution(session);
    if (!part) return;
    const load = this.loads.get(part.url) ?? { sessions: 0, participants: 0 };
    load.sessions += sign;
    load.participants += sign * part.participants;
    if (load.sessions === 0) this.loads.delete(part.url);
    else this.loads.set(part.url, load);
  }
}

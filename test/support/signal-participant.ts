// A participant without media for the fault specs: a token from our API, the socket.io channel (which
// comes back by itself after its instance dies, telling the backend the generation it runs on, as
// ResilientRoom does) and LiveKit's signal protocol. It moves only when the backend pushes a `rejoin`:
// by default it never asks for a token itself, so a move it makes is one the backend pushed. A lost signal
// is reported (`media-lost`), as ResilientRoom reports it. With `recover` it also does what ResilientRoom
// does when a join fails or its signal drops: it asks the backend where to go (`rejoin` with the URL it
// lost), again with backoff while the backend cannot answer, and joins there.
import { setTimeout as sleep } from 'node:timers/promises';
import { BACKEND_RETRY_BACKOFF, backoffDelayMs } from '../../packages/resilient-room/src/backoff.policy';
import type { JoinResponse, RejoinPayload, RejoinResponse } from '../../src/contracts';
import { RawSignalClient } from '../media-cluster/raw-signal-client';
import { api, connect, join, type ConnectedParticipant } from './session-client';

/** socket.io's own first reconnection delay (its default `reconnectionDelay` is 1 s with jitter; ResilientRoom's is about this). */
const SOCKET_RETRY_MS = 250;
/** A signal join the node has not answered after this long is given up (the next push is waited for). */
const SIGNAL_JOIN_TIMEOUT_MS = 5_000;
/** Within LiveKit's 15 s ping timeout, as its SDKs ping. */
const PING_EVERY_MS = 5_000;

export interface SignalParticipantOptions {
  /** Where its socket goes: the balancer (the default), or one instance. */
  socketUrl?: string;
  /** Ask the backend where to go after a failed join or a lost signal, as ResilientRoom does (default: wait for a push). */
  recover?: boolean;
}

export interface ReceivedPush extends RejoinPayload {
  /** performance.now() when it arrived. */
  at: number;
}

export class SignalParticipant {
  /** Every push received, in order (catch-ups included). */
  readonly pushes: ReceivedPush[] = [];
  /** The node the signal is joined on now (undefined while moving or lost). */
  connectedUrl: string | undefined;
  /** The generation of the token the current signal was joined with. */
  generation: number;
  /** performance.now() of the last completed signal join. */
  connectedAt = 0;
  /** When the realtime socket dropped and came back (performance.now()). */
  readonly socketDrops: Array<{ lostAt: number; backAt?: number }> = [];
  readonly errors: string[] = [];
  private socket: ConnectedParticipant | undefined;
  private signal: RawSignalClient | undefined;
  private closed = false;
  private signalClosed = true;
  private recovering = false;
  /** Signal joins failed in a row (`recover` waits before asking again after the second, as ResilientRoom does). */
  private failedJoins = 0;
  private readonly listeners = new Set<() => void>();
  private readonly ping = setInterval(() => {
    if (!this.signalClosed) this.signal?.send({ case: 'ping', value: BigInt(Date.now()) });
  }, PING_EVERY_MS);

  private constructor(
    private readonly appUrl: string,
    /** Where its socket goes: the balancer, or one instance. */
    private readonly socketUrl: string,
    private readonly recover: boolean,
    readonly joined: JoinResponse,
  ) {
    this.generation = joined.generation;
  }

  /**
   * Joins `sessionId` through `appUrl`, opens the socket there (or at `socketUrl`) and joins the signal
   * on the node named.
   */
  static async join(
    appUrl: string,
    sessionId: string,
    name: string,
    options: SignalParticipantOptions = {},
  ): Promise<SignalParticipant> {
    const participant = new SignalParticipant(
      appUrl,
      options.socketUrl ?? appUrl,
      options.recover ?? false,
      await join(appUrl, sessionId, name),
    );
    try {
      await participant.openSocket();
      await participant.joinSignal(participant.joined.url, participant.joined.token, participant.joined.generation);
      if (participant.connectedUrl === undefined) throw new Error(`signal join on ${participant.joined.url} failed`);
    } catch (error) {
      participant.close();
      throw error;
    }
    return participant;
  }

  get sessionId(): string {
    return this.joined.sessionId;
  }

  get identity(): string {
    return this.joined.identity;
  }

  /** Resolves once the signal is joined on a node at generation `generation` or later; rejects after `ms`. */
  connectedAtGeneration(generation: number, ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.connectedUrl === undefined || this.generation < generation) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(
          new Error(
            `${this.sessionId}/${this.identity}: not connected at generation >= ${generation} within ${ms} ms ` +
              `(pushes ${JSON.stringify(this.pushes.map((p) => [p.generation, p.url, p.reason]))}, ` +
              `on ${this.connectedUrl ?? 'nothing'} at ${this.generation}, errors ${JSON.stringify(this.errors)}, ` +
              `socket ${this.socket?.socket.connected ? 'connected' : 'not connected'}, drops ${JSON.stringify(this.socketDrops.map((d) => [Math.round(d.lostAt), d.backAt && Math.round(d.backAt)]))})`,
          ),
        );
      }, ms);
      this.listeners.add(check);
      check();
    });
  }

  /** Whether the signal WebSocket is open now. */
  signalOpen(): boolean {
    return this.signal !== undefined && !this.signalClosed;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.ping);
    this.signal?.close();
    this.socket?.close();
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private async openSocket(): Promise<void> {
    const socket = await connect(this.socketUrl, this.joined, 5_000, this.generation);
    if (this.closed) {
      socket.close();
      return;
    }
    this.socket = socket;
    // A push that arrived with the handshake (a catch-up), before this listener: in `rejoins` already.
    for (const early of socket.rejoins) void this.onPush({ ...early, at: performance.now() });
    socket.socket.on('rejoin', (payload) => void this.onPush({ ...payload, at: performance.now() }));
    socket.socket.on('disconnect', () => {
      if (this.closed) return;
      const drop: { lostAt: number; backAt?: number } = { lostAt: performance.now() };
      this.socketDrops.push(drop);
      void this.reopenSocket(drop);
    });
  }

  /** Tries again every SOCKET_RETRY_MS (the balancer passes it to a live instance) until it is back or closed. */
  private async reopenSocket(drop: { lostAt: number; backAt?: number }): Promise<void> {
    while (!this.closed) {
      await new Promise((resolve) => setTimeout(resolve, SOCKET_RETRY_MS));
      try {
        await this.openSocket();
        drop.backAt = performance.now();
        return;
      } catch {
        /* the instance or the balancer is not ready: try again */
      }
    }
  }

  private async onPush(push: ReceivedPush): Promise<void> {
    this.pushes.push(push);
    // Stale or repeated generations are ignored, as ResilientRoom's generation policy does: a push can
    // arrive twice (live, and as a catch-up), and a second join of one identity while the first is on its
    // way makes LiveKit close the older (duplicate identity).
    if (push.generation <= this.generation) return;
    await this.joinSignal(push.url, push.token, push.generation);
  }

  private async joinSignal(url: string, token: string, generation: number): Promise<void> {
    this.signal?.close();
    this.signal = undefined;
    this.connectedUrl = undefined;
    this.generation = generation;
    let signal: RawSignalClient | undefined;
    try {
      signal = await RawSignalClient.connect(url, token);
      await signal.next('join', SIGNAL_JOIN_TIMEOUT_MS);
    } catch (error) {
      signal?.close();
      if (this.generation === generation) {
        this.failedJoins++;
        this.errors.push(`${url} at ${generation}: ${(error as Error).message}`);
        if (this.recover && !this.closed) void this.recoverFrom(url, generation);
      }
      return;
    }
    // A newer push arrived while this join ran: it owns the participant now.
    if (this.closed || this.generation !== generation) {
      signal.close();
      return;
    }
    this.signal = signal;
    this.signalClosed = false;
    this.connectedUrl = url;
    this.connectedAt = performance.now();
    this.failedJoins = 0;
    void signal.closed.then(() => {
      if (this.signal !== signal || this.closed) return;
      this.signalClosed = true;
      this.connectedUrl = undefined;
      this.socket?.socket.emit('media-lost', { url });
      this.changed();
      if (this.recover) void this.recoverFrom(url, generation);
    });
    this.changed();
  }

  /**
   * Asks the backend where to go after losing `failedUrl` at `generation`, until it answers (backoff while
   * it cannot: 5xx, no answer), and joins there; a push that moved it meanwhile wins. A join that failed
   * again is asked about after a backoff (ResilientRoom's `recover` and `moveTo`, with its settings).
   */
  private async recoverFrom(failedUrl: string, generation: number): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    try {
      if (this.failedJoins > 1) await sleep(backoffDelayMs(this.failedJoins - 2, BACKEND_RETRY_BACKOFF));
      for (
        let attempt = 0;
        !this.closed && this.generation === generation && this.connectedUrl === undefined;
        attempt++
      ) {
        const res = await api<RejoinResponse>(
          this.appUrl,
          'POST',
          `/api/sessions/${this.sessionId}/participants/${this.identity}/rejoin`,
          { rejoinKey: this.joined.rejoinKey, failedUrl },
        ).catch((error: unknown) => ({ status: 0, body: (error as Error).message }));
        if (res.status === 200) {
          const answer = res.body as RejoinResponse;
          if (this.closed || this.generation !== generation || this.connectedUrl !== undefined) return;
          if (answer.generation < generation) return;
          // The join's own failure may start the next recovery.
          this.recovering = false;
          void this.joinSignal(answer.url, answer.token, answer.generation);
          return;
        }
        // Refused for good (a wrong key, a participant gone); 429 and 5xx are tried again.
        if (res.status >= 400 && res.status < 500 && res.status !== 429) {
          this.errors.push(`rejoin after losing ${failedUrl} answered ${res.status}: ${JSON.stringify(res.body)}`);
          return;
        }
        await sleep(backoffDelayMs(attempt, BACKEND_RETRY_BACKOFF));
      }
    } finally {
      this.recovering = false;
    }
  }
}

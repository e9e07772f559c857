import { useState, type FormEvent } from 'react';
import { VideoConference } from '@livekit/components-react';
import { SessionApiClient, type MoveTiming } from '@session-rebuilder/resilient-room';
import { ResilientRoomProvider, useResilientRoom } from '@session-rebuilder/resilient-room/react';

const params = new URLSearchParams(location.search);
/** ?lowres=1: 320x180 at 15 fps, for a 2-core machine running several pages. */
const LOW_RES = { width: 320, height: 180, frameRate: 15, maxBitrate: 250_000 };

/** Join form, then the call: <VideoConference> inside <ResilientRoomProvider>, with nothing else to wire. */
export function App() {
  const [joined, setJoined] = useState<{ session: string; name: string }>();
  const [error, setError] = useState<string>();
  if (!joined) return <JoinForm onJoin={setJoined} />;
  return (
    <ResilientRoomProvider
      session={joined.session}
      name={joined.name}
      options={{ video: params.has('lowres') ? LOW_RES : undefined }}
      fallback={<p className="status">Joining {joined.session}…</p>}
      onError={(err) => setError(err instanceof Error ? err.message : String(err))}
    >
      {error ? <p role="alert">{error}</p> : <Call />}
    </ResilientRoomProvider>
  );
}

function JoinForm({ onJoin }: { onJoin: (join: { session: string; name: string }) => void }) {
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const field = (name: string) => {
      const value = form.get(name);
      return typeof value === 'string' ? value.trim() : '';
    };
    onJoin({ session: field('session'), name: field('name') });
  };
  return (
    <form className="join" onSubmit={submit}>
      <input name="session" data-testid="session-input" defaultValue={params.get('session') ?? ''} required />
      <input name="name" data-testid="name-input" placeholder="Your name" required />
      <button className="lk-button" data-testid="join-button" type="submit">
        Join
      </button>
    </form>
  );
}

/** The call, a status line (state, the last move's timings) and a button that crashes the session's node. */
function Call() {
  const { state, lastMove, moves, resilientRoom } = useResilientRoom();
  const crash = () => {
    const sessionId = resilientRoom.sessionId;
    // The backend's dev tool: SIGKILL of the node hosting the session (embedded dev cluster only).
    if (sessionId) void new SessionApiClient('').crashNode(sessionId).catch(() => undefined);
  };
  return (
    <div className="call" style={{ height: '100vh', display: 'flex', flexDirection: 'column' }}>
      <div className="status-bar" style={{ display: 'flex', gap: '1rem', alignItems: 'center', padding: '0.5rem' }}>
        <span data-testid="state" data-state={state}>
          {state}
        </span>
        <span data-testid="moves" data-count={moves.length} data-timings={JSON.stringify(lastMove ?? null)}>
          {lastMove ? describeMove(lastMove) : 'no move yet'}
        </span>
        <button className="lk-button" data-testid="crash-button" type="button" onClick={crash}>
          Crash my media node
        </button>
      </div>
      <div style={{ flex: 1, minHeight: 0 }}>
        <VideoConference />
      </div>
    </div>
  );
}

function describeMove(move: MoveTiming): string {
  const ms = (from?: number, to?: number) => (from && to ? `${Math.round(to - from)} ms` : '…');
  return `move ${move.seq}: token ${ms(move.detectedAt, move.tokenAt)}, connect ${ms(move.tokenAt, move.connectedAt)}, first frame ${ms(move.detectedAt, move.firstFrameAt)} after the loss`;
}

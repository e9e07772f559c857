// A plain livekit-client app on ResilientRoom, as the package's README quick start writes it: attach
// each video track as it comes, drop it when it goes, and a chat line. Nothing here knows about moves:
// after a media node dies the same events bring the new node's tracks, and nobody "leaves".
import { Track } from 'livekit-client';
import { ResilientRoom, ResilientRoomError, type MoveTiming } from '@session-rebuilder/resilient-room';

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;
const params = new URLSearchParams(location.search);
// ?lowres=1: 320x180 at 15 fps, for a small machine running several pages.
const LOW_RES = { width: 320, height: 180, frameRate: 15, maxBitrate: 250_000 };

// The backend that issues tokens and pushes moves is this page's origin (apiBase: '').
const room = new ResilientRoom({ video: params.has('lowres') ? LOW_RES : undefined });

room.on('trackSubscribed', (track, _publication, participant) => {
  if (track.kind !== Track.Kind.Video) return;
  const video = track.attach();
  video.dataset.identity = participant.identity;
  $('#videos').append(video);
});
room.on('trackUnsubscribed', (track) => track.detach().forEach((element) => element.remove()));
room.on('participantConnected', (participant) => note('joined', participant.identity));
room.on('participantDisconnected', (participant) => note('left', participant.identity));
// `room.room` is the livekit-client Room of the current node; a move replaces it.
room.on('roomChanged', (current) => note('room', current.name));
room.on('dataReceived', (message) => {
  const item = document.createElement('li');
  item.dataset.from = message.from ?? '';
  item.dataset.delayed = String(message.delayed);
  item.textContent = `${message.participant?.name ?? message.from ?? 'server'}: ${message.text ?? '(binary)'}${message.delayed ? ' (delayed by a move)' : ''}`;
  $('#messages').append(item);
});
room.on('state', ({ state, reason }) => {
  document.body.dataset.state = state;
  document.body.dataset.identity = room.identity ?? '';
  $('#state').textContent = `${state} (${reason})`;
});
room.on('move', (move) => showMove(move));

$<HTMLFormElement>('#join').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.currentTarget as HTMLFormElement);
  const field = (name: string) => {
    const value = form.get(name);
    return typeof value === 'string' ? value.trim() : '';
  };
  $('#join').hidden = true;
  room.join(field('session'), field('name')).catch((err: unknown) => note('error', String(err)));
});

$<HTMLFormElement>('#chat').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>('#chat input');
  // Reliable by default: delivered once, in order, even when sent while the node is dying or during a move.
  room.send(input.value, { topic: 'chat' }).then(
    () => (input.value = ''),
    (err: unknown) => note('error', err instanceof ResilientRoomError ? `${err.code}: ${err.message}` : String(err)),
  );
});

function note(kind: string, text: string): void {
  const item = document.createElement('li');
  item.dataset.kind = kind;
  item.dataset.value = text;
  item.textContent = `${kind} ${text}`;
  $('#events').append(item);
}

function showMove(move: MoveTiming): void {
  const after = (at?: number) => (at === undefined ? '…' : `${Math.round(at - move.detectedAt)} ms`);
  const line = $('#move');
  line.dataset.timings = JSON.stringify(move);
  line.textContent = `moved to ${move.toUrl ?? '?'}: connected ${after(move.connectedAt)}, first frame ${after(move.firstFrameAt)} after the loss`;
}

/**
 * Never called: the package's declarations, and livekit-client's types reached through them, are real
 * types, not `any` (tsc fails on an expected error that does not happen).
 */
export function typeChecks(): void {
  // @ts-expect-error: a number is neither a string nor a Uint8Array
  void room.send(42);
  room.on('trackSubscribed', (track) => {
    // @ts-expect-error: livekit-client's RemoteTrack has no such method
    track.notAMethod(); // eslint-disable-line @typescript-eslint/no-unsafe-call -- what tsc must refuse
  });
}

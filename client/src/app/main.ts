import { SESSION_ID_PATTERN } from '@contracts';
import { ResilientRoom, SessionApiClient, type LogEntry } from '@session-rebuilder/resilient-room';
import { CHAT_TOPIC, ChatView } from './chat.view';
import { SessionView } from './session.view';
import { installTestHook, recordEvents, type HookRecords } from './test-hook';

const NAME_STORAGE_KEY = 'session-rebuilder:name';
/** `?lowres=1` captures 320x180 at 15 fps: what the tests and the benchmark use on a 2-core machine. */
const LOW_RES_VIDEO = { width: 320, height: 180, frameRate: 15, maxBitrate: 250_000 };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const joinView = $('join-view');
const sessionView = $('session-view');
const form = $<HTMLFormElement>('join-form');
const sessionInput = $<HTMLInputElement>('session-input');
const nameInput = $<HTMLInputElement>('name-input');
const joinButton = $<HTMLButtonElement>('join-button');
const joinError = $('join-error');
const micButton = $<HTMLButtonElement>('mic-button');
const cameraButton = $<HTMLButtonElement>('camera-button');
const screenButton = $<HTMLButtonElement>('screen-button');
const chatForm = $<HTMLFormElement>('chat-form');
const chatInput = $<HTMLInputElement>('chat-input');
const inviteButton = $<HTMLButtonElement>('invite-button');
const crashButton = $<HTMLButtonElement>('crash-button');
const crashInstanceButton = $<HTMLButtonElement>('crash-instance-button');
const leaveButton = $<HTMLButtonElement>('leave-button');
const view = new SessionView(
  $('grid'),
  $('audio-sink'),
  $('overlay'),
  $('state-badge'),
  $<HTMLOListElement>('event-log'),
);

const chat = new ChatView($<HTMLOListElement>('chat-log'));

const params = new URLSearchParams(location.search);
const api = new SessionApiClient('');
const log: LogEntry[] = [];
const records: HookRecords = { events: [], received: [] };
const testHook = params.get('test-hook') === '1';
let room: ResilientRoom | undefined;

// ?test-hook=1: window.__sessionRebuilder (test-hook.ts) for browser tests, benchmarks and your own
// automation. Without it the page puts nothing on window.
if (testHook) installTestHook(() => room, log, records);
sessionInput.value = params.get('session') ?? '';
nameInput.value = params.get('name') ?? localStorage.getItem(NAME_STORAGE_KEY) ?? '';
(sessionInput.value ? nameInput : sessionInput).focus();

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void join(sessionInput.value.trim(), nameInput.value.trim());
});

async function join(sessionId: string, name: string): Promise<void> {
  if (!SESSION_ID_PATTERN.test(sessionId))
    return showJoinError('A session name uses letters, digits, "-" and "_" only.');
  if (!name) return showJoinError('Please enter your name.');
  joinButton.disabled = true;
  joinError.hidden = true;
  localStorage.setItem(NAME_STORAGE_KEY, name);
  history.replaceState(null, '', `?session=${encodeURIComponent(sessionId)}${params.has('lowres') ? '&lowres=1' : ''}`);

  // ?auth=<JWT>: for a backend started with --auth-secret, the join token your app would hand this user.
  const next = new ResilientRoom({
    video: params.has('lowres') ? LOW_RES_VIDEO : undefined,
    joinToken: params.get('auth') ?? undefined,
  });
  room = next;
  next.on('state', (change) => view.renderState(change));
  next.on('participants', (participants) => view.renderParticipants(participants));
  next.on('log', (entry) => {
    log.push(entry);
    view.appendLog(entry);
  });
  next.on('move', (move) => {
    if (move.outcome === 'done' && move.firstFrameAt) note('info', `rebuild timings (ms): ${describeMove(move)}`);
  });
  next.on('dataReceived', (message) => {
    if (message.topic !== CHAT_TOPIC) return;
    const sender = message.participant?.name || message.from || 'server';
    chat.received(message, sender);
  });
  if (testHook) recordEvents(next, records);

  chat.clear();
  $('session-title').textContent = sessionId;
  view.renderState(next.stateChange);
  joinView.hidden = true;
  sessionView.hidden = false;
  void showCrashButtonIfDevCluster();
  try {
    await next.join(sessionId, name);
  } catch (err) {
    joinButton.disabled = false;
    if (room === next && next.state === 'failed') return;
    backToStart();
    showJoinError(err instanceof Error ? err.message : String(err));
  }
}

function describeMove(move: NonNullable<ResilientRoom['moves'][number]>): string {
  const step = (from?: number, to?: number) => (from && to ? Math.round(to - from) : '?');
  return [
    `token ${step(move.detectedAt, move.tokenAt)}`,
    `connect ${step(move.tokenAt, move.connectedAt)}`,
    `publish ${step(move.connectedAt, move.publishedAt)}`,
    `first frame ${step(move.publishedAt, move.firstFrameAt)}`,
  ].join(', ');
}

async function showCrashButtonIfDevCluster(): Promise<void> {
  try {
    const info = await api.info();
    crashButton.hidden = !info.devCluster;
    crashInstanceButton.hidden = !info.instance?.crashable;
  } catch {
    crashButton.hidden = true;
    crashInstanceButton.hidden = true;
  }
}

micButton.addEventListener('click', () => {
  if (!room) return;
  const muted = !room.isMuted.audio;
  void room.setMuted('audio', muted);
  micButton.setAttribute('aria-pressed', String(muted));
  micButton.textContent = muted ? 'Unmute mic' : 'Mute mic';
});

cameraButton.addEventListener('click', () => {
  if (!room) return;
  const muted = !room.isMuted.video;
  void room.setMuted('video', muted);
  cameraButton.setAttribute('aria-pressed', String(muted));
  cameraButton.textContent = muted ? 'Start camera' : 'Stop camera';
});

screenButton.addEventListener('click', () => {
  if (!room) return;
  const enable = !room.isScreenShareEnabled;
  screenButton.disabled = true;
  room
    .setScreenShareEnabled(enable)
    .catch((err: Error) => note('error', `screen share: ${err.message}`))
    .finally(() => {
      const sharing = room?.isScreenShareEnabled ?? false;
      screenButton.disabled = false;
      screenButton.setAttribute('aria-pressed', String(sharing));
      screenButton.textContent = sharing ? 'Stop sharing' : 'Share screen';
    });
});

chatForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = chatInput.value.trim();
  if (!room || !text) return;
  const queued = room.state !== 'connected';
  room.send(text, { topic: CHAT_TOPIC }).then(
    () => {
      chat.sent(text, queued);
      chatInput.value = '';
    },
    (err: Error) => note('error', `chat: ${err.message}`),
  );
});

inviteButton.addEventListener('click', () => {
  const link = `${location.origin}${location.pathname}?session=${encodeURIComponent(room?.sessionId ?? sessionInput.value)}`;
  void navigator.clipboard?.writeText(link).then(
    () => (inviteButton.textContent = 'Link copied'),
    () => (inviteButton.textContent = link),
  );
  setTimeout(() => (inviteButton.textContent = 'Copy invite link'), 2500);
});

crashButton.addEventListener('click', () => {
  const sessionId = room?.sessionId;
  if (!sessionId) return;
  crashButton.disabled = true;
  api
    .crashNode(sessionId)
    .then(() => note('warn', "asked the dev cluster to SIGKILL this session's node"))
    .catch((err: Error) => note('error', `crash failed: ${err.message}`))
    .finally(() => setTimeout(() => (crashButton.disabled = false), 2000));
});

crashInstanceButton.addEventListener('click', () => {
  crashInstanceButton.disabled = true;
  api
    .crashInstance()
    .then(() => note('warn', 'asked the backend instance this page talks to to SIGKILL itself; another one takes over'))
    .catch((err: Error) => note('error', `crash failed: ${err.message}`))
    .finally(() => setTimeout(() => (crashInstanceButton.disabled = false), 2000));
});

leaveButton.addEventListener('click', () => {
  const leaving = room;
  void leaving?.leave().finally(backToStart);
});

$('overlay-home').addEventListener('click', backToStart);

function backToStart(): void {
  view.clear();
  sessionView.hidden = true;
  joinView.hidden = false;
  joinButton.disabled = false;
}

function note(level: LogEntry['level'], message: string): void {
  const entry: LogEntry = { at: Date.now(), level, message };
  log.push(entry);
  view.appendLog(entry);
}

function showJoinError(message: string): void {
  joinError.textContent = message;
  joinError.hidden = false;
}

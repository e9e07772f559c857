import type { Track } from 'livekit-client';
import type { LogEntry, ParticipantView, StateChange } from '@session-rebuilder/resilient-room';

/** Renders the video grid, the rebuild overlay and the event log; holds no call logic. */
export class SessionView {
  private readonly tiles = new Map<string, { el: HTMLElement; video: HTMLVideoElement; track?: Track }>();
  private readonly audio = new Map<string, { el: HTMLMediaElement; track: Track }>();
  private state?: StateChange;
  private timer?: number;

  constructor(
    private readonly grid: HTMLElement,
    private readonly audioSink: HTMLElement,
    private readonly overlay: HTMLElement,
    private readonly badge: HTMLElement,
    private readonly logList: HTMLOListElement,
  ) {}

  renderParticipants(participants: ParticipantView[]): void {
    const seen = new Set<string>();
    for (const p of participants) {
      seen.add(p.identity);
      let tile = this.tiles.get(p.identity);
      if (!tile) {
        tile = this.createTile(p);
        this.tiles.set(p.identity, tile);
        if (p.isLocal) this.grid.prepend(tile.el);
        else this.grid.append(tile.el);
      }
      if (tile.track !== p.videoTrack) {
        tile.track?.detach(tile.video);
        p.videoTrack?.attach(tile.video);
        tile.track = p.videoTrack;
      }
      tile.el.querySelector('.name')!.textContent = p.isLocal ? `${p.name} (you)` : p.name;
      const flag = tile.el.querySelector<HTMLElement>('.flag')!;
      const flagText = p.reconnecting ? 'reconnecting…' : p.videoMuted ? 'camera off' : p.audioMuted ? 'muted' : '';
      flag.textContent = flagText;
      flag.hidden = flagText === '';
      tile.el.querySelector<HTMLElement>('.placeholder')!.hidden = !!p.videoTrack && !p.videoMuted;
      if (!p.isLocal) this.renderAudio(p);
    }
    for (const [identity, tile] of this.tiles) {
      if (seen.has(identity)) continue;
      tile.track?.detach(tile.video);
      tile.el.remove();
      this.tiles.delete(identity);
      this.renderAudio({ identity } as ParticipantView);
    }
  }

  renderState(change: StateChange): void {
    this.state = change;
    this.overlay.dataset.state = change.state;
    this.badge.dataset.state = change.state;
    this.badge.textContent = change.state;
    const [title, detail] = describeState(change);
    this.overlay.querySelector('#overlay-title')!.textContent = title;
    this.overlay.querySelector('#overlay-detail')!.textContent = detail;
    this.overlay.querySelector<HTMLElement>('#overlay-home')!.hidden = change.state !== 'failed';
    this.tick();
    const counting = change.state === 'rebuilding' || change.state === 'waiting-for-node' || change.state === 'joining';
    if (counting && this.timer === undefined) this.timer = window.setInterval(() => this.tick(), 100);
    if (!counting && this.timer !== undefined) {
      window.clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  appendLog(entry: LogEntry): void {
    const item = document.createElement('li');
    item.className = entry.level;
    item.textContent = `${new Date(entry.at).toLocaleTimeString()} ${entry.message}`;
    this.logList.prepend(item);
    while (this.logList.children.length > 200) this.logList.lastElementChild?.remove();
  }

  clear(): void {
    this.renderParticipants([]);
    if (this.timer !== undefined) window.clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const state = this.state;
    const timer = this.overlay.querySelector('#overlay-timer')!;
    if (!state || state.state === 'connected' || state.state === 'failed' || state.state === 'left') {
      timer.textContent = '';
      return;
    }
    const seconds = (Date.now() - state.since) / 1000;
    const retry =
      state.retryAt && state.retryAt > Date.now()
        ? ` · next try in ${((state.retryAt - Date.now()) / 1000).toFixed(1)} s`
        : '';
    timer.textContent = `${seconds.toFixed(1)} s${retry}`;
  }

  private createTile(p: ParticipantView) {
    const el = document.createElement('div');
    el.className = 'tile';
    el.dataset.testid = 'tile';
    el.dataset.identity = p.identity;
    el.dataset.local = String(p.isLocal);
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true;
    const placeholder = document.createElement('div');
    placeholder.className = 'placeholder';
    placeholder.textContent = initials(p.name);
    const name = document.createElement('span');
    name.className = 'name';
    const flag = document.createElement('span');
    flag.className = 'flag';
    flag.hidden = true;
    el.append(video, placeholder, name, flag);
    return { el, video };
  }

  private renderAudio(p: ParticipantView): void {
    const current = this.audio.get(p.identity);
    if (current?.track === p.audioTrack) return;
    if (current) {
      current.track.detach(current.el);
      current.el.remove();
      this.audio.delete(p.identity);
    }
    if (p.audioTrack) {
      const el = p.audioTrack.attach();
      this.audioSink.append(el);
      this.audio.set(p.identity, { el, track: p.audioTrack });
    }
  }
}

function describeState(change: StateChange): [string, string] {
  switch (change.state) {
    case 'joining':
      return ['Joining…', change.reason];
    case 'connected':
      return ['Connected', change.reason];
    case 'rebuilding':
      return ['Your media node went away. Moving the call to a healthy node…', change.reason];
    case 'waiting-for-node':
      return [
        'Waiting for a media node',
        `No media node is up right now; the call resumes as soon as one is (${change.reason}).`,
      ];
    case 'failed':
      return ['The call could not be rebuilt', change.reason];
    case 'left':
      return ['You left', change.reason];
    default: {
      const unreachable: never = change.state;
      return [String(unreachable), ''];
    }
  }
}

function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => word[0].toUpperCase())
    .join('');
}

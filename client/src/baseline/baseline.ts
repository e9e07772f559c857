// The comparison point of the failover benchmark: livekit-client exactly as an app gets it, with its
// default options and no backend to help. The benchmark mints the token and calls `connect()`.
import { Room, RoomEvent } from 'livekit-client';
import { remoteFramesDecoded } from '@session-rebuilder/resilient-room';

interface BaselineEvent {
  at: number;
  event: string;
  detail?: string;
}

/** One remote video receiver: `key` changes when a new connection brings a new receiver. */
export interface BaselineReceiver {
  key: string;
  framesDecoded: number;
}

export interface BaselineHook {
  readonly events: BaselineEvent[];
  readonly state: string;
  connect(url: string, token: string): Promise<void>;
  framesDecoded(): Promise<Record<string, number>>;
  receivers(): Promise<BaselineReceiver[]>;
  disconnect(): Promise<void>;
}

declare global {
  interface Window {
    __baseline?: BaselineHook;
  }
}

const events: BaselineEvent[] = [];
const room = new Room();
const logEl = document.getElementById('baseline-log')!;

function record(event: string, detail?: string): void {
  const entry = { at: performance.timeOrigin + performance.now(), event, detail };
  events.push(entry);
  logEl.textContent += `${new Date(entry.at).toISOString()} ${event}${detail ? ` ${detail}` : ''}\n`;
}

room
  .on(RoomEvent.SignalReconnecting, () => record('signal-reconnecting'))
  .on(RoomEvent.Reconnecting, () => record('reconnecting'))
  .on(RoomEvent.Reconnected, () => record('reconnected'))
  .on(RoomEvent.Disconnected, (reason) => record('disconnected', String(reason)))
  .on(RoomEvent.TrackSubscribed, (track, _pub, participant) => {
    record('track-subscribed', `${participant.identity} ${track.kind}`);
    const el = track.attach();
    document.getElementById('baseline-media')!.append(el);
  });

window.__baseline = {
  events,
  get state() {
    return room.state;
  },
  async connect(url, token) {
    await room.connect(url, token);
    record('connected', url);
    await room.localParticipant.enableCameraAndMicrophone();
    record('published');
  },
  framesDecoded: () => remoteFramesDecoded(room),
  async receivers() {
    const rows: BaselineReceiver[] = [];
    for (const participant of room.remoteParticipants.values()) {
      for (const publication of participant.videoTrackPublications.values()) {
        const track = publication.track;
        const report = await track?.receiver?.getStats().catch(() => undefined);
        let framesDecoded = 0;
        report?.forEach((stat: { type?: string; kind?: string; framesDecoded?: number }) => {
          if (stat.type === 'inbound-rtp' && stat.kind === 'video')
            framesDecoded = Math.max(framesDecoded, stat.framesDecoded ?? 0);
        });
        // The MediaStreamTrack id is new for every receiver a new PeerConnection creates.
        rows.push({
          key: `${participant.identity}/${publication.trackSid}/${track?.mediaStreamTrack.id ?? '-'}`,
          framesDecoded,
        });
      }
    }
    return rows;
  },
  disconnect: () => room.disconnect(),
};

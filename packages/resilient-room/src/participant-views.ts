import { Track, type LocalVideoTrack, type Room } from 'livekit-client';
import type { JoinResponse } from '@contracts';
import type { ParticipantView } from './resilient-room.types';

export interface ViewSources {
  session?: JoinResponse;
  left: boolean;
  preview?: LocalVideoTrack;
  muted: { video: boolean; audio: boolean };
  /** Remote participants shown, kept across a move until they are back or gone. */
  remotes: ReadonlyMap<string, { name: string }>;
  room?: Room;
}

/** What the UI shows: the local participant, then every remote one, `reconnecting` while a move has not found them yet. */
export function participantViews({ session, left, preview, muted, remotes, room }: ViewSources): ParticipantView[] {
  const views: ParticipantView[] = [];
  if (session && !left) {
    views.push({
      identity: session.identity,
      name: session.name,
      isLocal: true,
      videoTrack: preview,
      videoMuted: muted.video,
      audioMuted: muted.audio,
      reconnecting: false,
    });
  }
  for (const [identity, { name }] of remotes) {
    const participant = left ? undefined : room?.remoteParticipants.get(identity);
    const video = participant?.getTrackPublication(Track.Source.Camera);
    const audio = participant?.getTrackPublication(Track.Source.Microphone);
    views.push({
      identity,
      name: participant?.name || name,
      isLocal: false,
      videoTrack: video?.track,
      audioTrack: audio?.track,
      videoMuted: video?.isMuted ?? false,
      audioMuted: audio?.isMuted ?? false,
      reconnecting: !participant,
    });
  }
  return views;
}

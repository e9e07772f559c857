import { Track, type Room } from 'livekit-client';

/** framesDecoded of every remote participant's video (inbound-rtp), keyed by identity; 0 = nothing yet. */
export async function remoteFramesDecoded(room: Room | undefined): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  if (!room) return result;
  const reads: Promise<void>[] = [];
  for (const participant of room.remoteParticipants.values()) {
    result[participant.identity] ??= 0;
    for (const publication of participant.videoTrackPublications.values()) {
      const receiver = publication.track?.receiver;
      if (!receiver || publication.source === Track.Source.ScreenShare) continue;
      reads.push(
        receiver
          .getStats()
          .then((report) => {
            report.forEach((stat: { type?: string; kind?: string; framesDecoded?: number }) => {
              if (stat.type === 'inbound-rtp' && stat.kind === 'video') {
                result[participant.identity] = Math.max(result[participant.identity] ?? 0, stat.framesDecoded ?? 0);
              }
            });
          })
          .catch(() => undefined),
      );
    }
  }
  await Promise.all(reads);
  return result;
}

export interface RemoteVideoStats {
  identity: string;
  trackSid: string;
  subscribed: boolean;
  muted: boolean;
  packetsReceived?: number;
  bytesReceived?: number;
  framesReceived?: number;
  framesDecoded?: number;
  keyFramesDecoded?: number;
  pliCount?: number;
}

/** The inbound-rtp details behind framesDecoded, for telling "no packets" from "no keyframe". */
export async function remoteVideoStats(room: Room | undefined): Promise<RemoteVideoStats[]> {
  if (!room) return [];
  const rows: RemoteVideoStats[] = [];
  for (const participant of room.remoteParticipants.values()) {
    for (const publication of participant.videoTrackPublications.values()) {
      const row: RemoteVideoStats = {
        identity: participant.identity,
        trackSid: publication.trackSid,
        subscribed: publication.isSubscribed,
        muted: publication.isMuted,
      };
      const report = await publication.track?.receiver?.getStats().catch(() => undefined);
      report?.forEach((stat: Record<string, unknown>) => {
        if (stat.type !== 'inbound-rtp' || stat.kind !== 'video') return;
        Object.assign(row, {
          packetsReceived: stat.packetsReceived,
          bytesReceived: stat.bytesReceived,
          framesReceived: stat.framesReceived,
          framesDecoded: stat.framesDecoded,
          keyFramesDecoded: stat.keyFramesDecoded,
          pliCount: stat.pliCount,
        });
      });
      rows.push(row);
    }
  }
  return rows;
}

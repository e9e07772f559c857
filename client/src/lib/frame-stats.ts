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

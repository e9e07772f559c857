import { SignalTarget, TrickleRequest } from '@livekit/protocol';
import type { RTCIceCandidate, RTCPeerConnection } from 'werift';
import { isUsableCandidate } from './peer-config';
import type { SignalMessage } from './signal-socket';

/** Our candidate for one of the client's two PCs, as a trickle message. */
export function trickleMessage(candidate: RTCIceCandidate, target: SignalTarget): SignalMessage {
  return { case: 'trickle', value: new TrickleRequest({ candidateInit: JSON.stringify(candidate.toJSON()), target }) };
}

/** The client's candidate, if usable here (loopback / host candidates only; see peer-config). */
export function addRemoteCandidate(pc: RTCPeerConnection, candidateInit: string, log: (line: string) => void): void {
  const init = JSON.parse(candidateInit) as { candidate?: string };
  if (!init.candidate || !isUsableCandidate(init.candidate)) return;
  void pc.addIceCandidate(init).catch((error) => log(`candidate refused: ${(error as Error).message}`));
}

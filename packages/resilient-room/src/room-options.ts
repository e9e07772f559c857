import type { RoomConnectOptions, RoomOptions } from 'livekit-client';
import { QuickResumePolicy } from './backoff.policy';

/** A move must fail fast on a node that died meanwhile (SDK default: 15 s each). */
export const MOVE_WEBSOCKET_TIMEOUT_MS = 4_000;
export const MOVE_PEER_CONNECTION_TIMEOUT_MS = 6_000;

export const CONNECT_OPTIONS: RoomConnectOptions = {
  autoSubscribe: true,
  // The move logic retries on another node; the SDK retrying the same URL only delays it.
  maxRetries: 0,
  websocketTimeout: MOVE_WEBSOCKET_TIMEOUT_MS,
  peerConnectionTimeout: MOVE_PEER_CONNECTION_TIMEOUT_MS,
};

export function roomOptions(): RoomOptions {
  return {
    adaptiveStream: false,
    dynacast: false,
    // Local tracks outlive every Room: a move republishes the same camera and microphone.
    stopLocalTrackOnUnpublish: false,
    reconnectPolicy: new QuickResumePolicy(),
    // The dev cluster (and LiveKit < 1.9) answer /rtc/v1 with 404; skipping that try saves a round trip.
    singlePeerConnection: false,
    publishDefaults: { simulcast: false, videoCodec: 'vp8', red: false, dtx: true },
  };
}

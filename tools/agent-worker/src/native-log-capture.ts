// @livekit/rtc-node 0.13.35 starts its native side (livekit-ffi 0.12.73) with log capture on
// (FfiClient: `livekitInitialize(callback, true, ...)`), and the FFI then lets every record through at
// Trace: each line of the Rust SDK and of libwebrtc is formatted and sent to JS as an FFI event, 1,500-3,000
// of them during one Room.connect, which this rtc-node drops unread (it handles no `logs` event). A Room
// holds every FFI event that arrives before its connect resolves and replays them one by one through its
// event lock, so a job's connect waits until its main thread has decoded and replayed them all: 150-320 ms
// of CPU per connect here, against 40-60 ms without capture. Started without it, the native side logs
// through env_logger instead: errors to stderr (the worker's), or whatever RUST_LOG asks for.
import { createRequire } from 'node:module';

type Initialize = (callback: (data: Uint8Array) => void, captureLogs: boolean, sdkVersion: string) => void;

let started: 'without capture' | undefined;

/**
 * In a job process, before anything uses @livekit/rtc-node: its native side will start without log
 * capture. Patches the bindings rtc-node itself loads (resolved from its own directory).
 */
export function startNativeSideWithoutLogCapture(): void {
  const rtcNode = createRequire(import.meta.url).resolve('@livekit/rtc-node');
  const bindings = createRequire(rtcNode)('@livekit/rtc-ffi-bindings') as { livekitInitialize: Initialize };
  const initialize = bindings.livekitInitialize;
  bindings.livekitInitialize = (callback, _captureLogs, sdkVersion) => {
    started = 'without capture';
    initialize(callback, false, sdkVersion);
  };
}

/**
 * Whether the native side was started through the patch above; undefined when it was not (rtc-node not
 * started yet, or started before the patch, or an rtc-node that no longer calls `livekitInitialize`).
 */
export function nativeLogCapture(): 'without capture' | undefined {
  return started;
}

import { MediaStreamTrack, RTCDtlsTransport, RTCPeerConnection } from 'werift';
import { answerAsDtlsServer, peerConfig } from './peer-config';

/** A warm-up that has not connected by then is abandoned; the node starts anyway. */
const WARM_UP_TIMEOUT_MS = 3_000;

/**
 * Runs one loopback werift-to-werift connection (ICE, DTLS, SCTP) inside the node before it reports
 * ready. A fresh Node process pays for cold code on its first handshakes: werift's DTLS, the P-256
 * tables of its pure-JS crypto (~80 ms for the first key alone), SCTP. Seen: a session moved onto a
 * freshly restarted node connected ~250 ms later than on a node that had served before. LiveKit is a
 * compiled Go binary and has no such first-client penalty, so the dev node takes it at start-up.
 */
export async function warmUpWebRtc(log: (line: string) => void): Promise<void> {
  await RTCDtlsTransport.SetupCertificate();
  const offerer = new RTCPeerConnection({ ...peerConfig(), bundlePolicy: 'max-bundle' });
  const answerer = new RTCPeerConnection({ ...peerConfig(), bundlePolicy: 'max-bundle' });
  let timer: NodeJS.Timeout | undefined;
  try {
    offerer.onIceCandidate.subscribe(
      (candidate) => candidate && void answerer.addIceCandidate(candidate.toJSON()).catch(() => undefined),
    );
    answerer.onIceCandidate.subscribe(
      (candidate) => candidate && void offerer.addIceCandidate(candidate.toJSON()).catch(() => undefined),
    );
    const channel = offerer.createDataChannel('warm-up');
    offerer.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
    const opened = new Promise<void>((resolve) =>
      channel.stateChanged.subscribe((state) => state === 'open' && resolve()),
    );
    const connected = (pc: RTCPeerConnection) =>
      new Promise<void>((resolve) => pc.connectionStateChange.subscribe((state) => state === 'connected' && resolve()));
    const ready = Promise.all([connected(offerer), connected(answerer), opened]);
    await offerer.setLocalDescription(await offerer.createOffer());
    await answerer.setRemoteDescription(offerer.localDescription!);
    const answer = await answerer.createAnswer();
    await answerer.setLocalDescription({ type: 'answer', sdp: answerAsDtlsServer(answer.sdp) });
    await offerer.setRemoteDescription(answerer.localDescription!);
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), WARM_UP_TIMEOUT_MS)),
    );
    if ((await Promise.race([ready, timedOut])) === 'timeout')
      log(`WebRTC warm-up did not connect within ${WARM_UP_TIMEOUT_MS} ms; starting cold`);
  } catch (error) {
    log(`WebRTC warm-up failed (${(error as Error).message}); starting cold`);
  } finally {
    clearTimeout(timer);
    await Promise.all([offerer.close(), answerer.close()].map((closing) => closing.catch(() => undefined)));
  }
}

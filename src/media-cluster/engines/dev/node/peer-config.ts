import { useNACK, useOPUS, usePLI, useSdesMid, useSdesRTPStreamId, useVP8, type RTCPeerConnectionConfig } from 'werift';
import { LOOPBACK_HOST } from './node-config';

/**
 * werift settings for a node that serves browsers on the same machine. No STUN (werift's default
 * is a public host, useless offline), IPv4 only, and the loopback address added because werift
 * leaves it out while Chromium under test offers nothing else.
 * One codec per kind, VP8 and Opus, so every subscriber can take the publisher's packets unchanged.
 */
export function peerConfig(): RTCPeerConnectionConfig {
  return {
    iceServers: [],
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [LOOPBACK_HOST],
    codecs: {
      video: [useVP8({ rtcpFeedback: [useNACK(), usePLI()] })],
      audio: [useOPUS()],
    },
    headerExtensions: {
      // mid and rid let werift route a simulcast publisher's layers, which carry no SSRC in the SDP.
      video: [useSdesMid(), useSdesRTPStreamId()],
      audio: [useSdesMid()],
    },
  };
}

/**
 * Candidates werift can use: IPv4 UDP with a literal address. Browsers also send mDNS names
 * (`*.local`), IPv6 and TCP candidates, which would only cost failed checks.
 */
export function isUsableCandidate(candidate: string): boolean {
  const fields = candidate.replace(/^a=/, '').split(' ');
  const protocol = fields[2]?.toLowerCase();
  const address = fields[4] ?? '';
  return protocol === 'udp' && /^\d{1,3}(\.\d{1,3}){3}$/.test(address);
}

/**
 * werift marks an inactive m-section as rejected: port 0. That is an ended subscription in our
 * offers, and in our answers every receive-only section a client offers (@livekit/rtc-node offers
 * three audio and three video ones ahead of its data channel). When such a section is the BUNDLE
 * tag, libwebrtc refuses the whole description ("m= section with mid='2' should be rejected"). An
 * inactive section on the discard port 9 says the same thing and keeps the bundle intact.
 */
export function keepInactiveSectionsBundled(sdp: string): string {
  return sdp
    .split(/(?=^m=)/m)
    .map((section) =>
      /^m=(audio|video) 0 /.test(section) && /^a=inactive\r?$/m.test(section)
        ? section.replace(/^(m=\w+) 0 /, '$1 9 ')
        : section,
    )
    .join('');
}

/**
 * Makes werift's answer take the DTLS server role (`a=setup:passive`), so the browser is the DTLS
 * client. werift picks `active` by default, and as DTLS client it sleeps a fixed 100 ms before its
 * ClientHello; as server it answers the browser's ClientHello at once. The role stays server in
 * later answers on the same connection.
 */
export function answerAsDtlsServer(sdp: string): string {
  return sdp.replace(/^a=setup:active(\r?)$/gm, 'a=setup:passive$1');
}

import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { answerAsDtlsServer, isUsableCandidate, keepInactiveSectionsBundled } from './peer-config';

describe('isUsableCandidate', () => {
  it('keeps IPv4 UDP candidates', () => {
    assert.equal(isUsableCandidate('candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host generation 0'), true);
    assert.equal(
      isUsableCandidate('candidate:2 1 UDP 1686052607 192.0.2.7 60000 typ srflx raddr 0.0.0.0 rport 0'),
      true,
    );
  });

  it('drops mDNS names, IPv6 and TCP, which werift cannot use', () => {
    assert.equal(isUsableCandidate('candidate:1 1 udp 2122260223 8c2d4b7e-1f1a-4c1e.local 54321 typ host'), false);
    assert.equal(isUsableCandidate('candidate:1 1 udp 2122262783 ::1 54321 typ host'), false);
    assert.equal(isUsableCandidate('candidate:1 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active'), false);
    assert.equal(isUsableCandidate(''), false);
  });
});

describe('keepInactiveSectionsBundled', () => {
  const sdp = [
    'v=0',
    'a=group:BUNDLE 0 1 2',
    'm=video 0 UDP/TLS/RTP/SAVPF 97',
    'a=inactive',
    'a=mid:0',
    'm=audio 9 UDP/TLS/RTP/SAVPF 96',
    'a=sendonly',
    'a=mid:1',
    'm=audio 0 UDP/TLS/RTP/SAVPF 96',
    'a=recvonly',
    'a=mid:2',
    '',
  ].join('\r\n');

  it('moves an inactive media section from port 0 (rejected) to the discard port', () => {
    const fixed = keepInactiveSectionsBundled(sdp);
    assert.match(fixed, /^m=video 9 UDP\/TLS\/RTP\/SAVPF 97\r\na=inactive\r\na=mid:0$/m);
  });

  it('leaves active sections, and port-0 sections that are not inactive, as they were', () => {
    const fixed = keepInactiveSectionsBundled(sdp);
    assert.match(fixed, /^m=audio 9 UDP\/TLS\/RTP\/SAVPF 96\r\na=sendonly$/m);
    assert.match(fixed, /^m=audio 0 UDP\/TLS\/RTP\/SAVPF 96\r\na=recvonly$/m);
    assert.equal(fixed.length, sdp.length);
  });
});

describe('answerAsDtlsServer', () => {
  it('turns every active setup line into passive and leaves the rest alone', () => {
    const sdp =
      'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:active\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=setup:active\r\na=mid:1\r\n';
    assert.equal(answerAsDtlsServer(sdp), sdp.replaceAll('a=setup:active', 'a=setup:passive'));
    assert.equal(answerAsDtlsServer('a=setup:actpass\r\n'), 'a=setup:actpass\r\n');
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../config/parse-config';
import { LiveKitRoomServiceApi, NodeCallError } from './livekit-room.api';

const SETTINGS = { metadata: '', emptyTimeoutSec: 300, departureTimeoutSec: 20, maxParticipants: 100 };
/** What nginx answers when every member of LiveKit's cluster is skipped (it had refused lately). */
const NGINX_502 = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n</body>\r\n</html>\r\n';

describe(LiveKitRoomServiceApi.name, () => {
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  /** A URL whose every call is answered with `status`, `contentType` and `body`. */
  const answering = async (status: number, contentType: string, body: string): Promise<string> => {
    server = createServer((_request, response) => {
      response.writeHead(status, { 'content-type': contentType });
      response.end(body);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const api = () => new LiveKitRoomServiceApi(parseConfig(['--api-key', 'key', '--secret', 'secret'], {}));

  it("takes a balancer's 502 page for an unreachable node, not for the room refused (LiveKit's cluster behind nginx)", async () => {
    const url = await answering(502, 'text/html', NGINX_502);
    const call = api().createRoom(url, 'room', SETTINGS);
    await expect(call).rejects.toBeInstanceOf(NodeCallError);
    await expect(call).rejects.toMatchObject({ nodeUrl: url, kind: 'error' });
  });

  it("passes LiveKit's own Twirp error through as the node's answer", async () => {
    const url = await answering(503, 'application/json', JSON.stringify({ code: 'unavailable', msg: 'no nodes' }));
    const error = await api()
      .createRoom(url, 'room', SETTINGS)
      .catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(NodeCallError);
    expect(error).toMatchObject({ message: 'no nodes', status: 503, code: 'unavailable' });
  });
});

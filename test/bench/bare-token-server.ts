// The yardstick for token issuance: a bare node:http server that mints the same LiveKit token our join
// does (livekit-server-sdk, same grants, 10 min), with nothing else: no validation, no store, no lock.
// Run by bench:scale as its own process; prints `bare-token-server listening PORT`.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessToken } from 'livekit-server-sdk';

const [apiKey = 'key', apiSecret = 'secret-secret-secret-secret-secret'] = process.argv.slice(2);
let counter = 0;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const { name } = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { name?: string };
    const identity = `bare-${++counter}`;
    const token = new AccessToken(apiKey, apiSecret, { identity, name: name ?? identity, ttl: 600 });
    token.addGrant({ roomJoin: true, room: 'bare', canPublish: true, canSubscribe: true, canPublishData: true });
    void token.toJwt().then((jwt) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ identity, token: jwt }));
    });
  });
});
server.listen(0, '127.0.0.1', () =>
  console.log(`bare-token-server listening ${(server.address() as AddressInfo).port}`),
);

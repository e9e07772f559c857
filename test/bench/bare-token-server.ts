// The yardstick for token issuance: a bare node:http server that mints the same LiveKit token our join
// does, with the same code (TokenService: same grants, the room's settings, 10 min), and nothing else: no
// validation, no store, no lock. What the two differ by is then the framework and the session's
// bookkeeping, not the minting. Run by bench:scale as its own process; prints `bare-token-server listening PORT`.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../src/config/parse-config';
import { TokenService } from '../../src/sessions/token.service';

const [apiKey = 'key', apiSecret = 'secret-secret-secret-secret-secret'] = process.argv.slice(2);
const tokens = new TokenService(parseConfig(['--api-key', apiKey, '--secret', apiSecret], {}));
const room = { metadata: '', emptyTimeoutSec: 300, departureTimeoutSec: 20, maxParticipants: 0 };
const grants = { canPublish: true, canSubscribe: true, canPublishData: true };
let counter = 0;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const { name } = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { name?: string };
    const identity = `bare-${++counter}`;
    const participant = {
      identity,
      name: name ?? identity,
      metadata: '',
      grants,
      rejoinKeyHash: '',
      state: 'invited' as const,
      invitedAt: 0,
    };
    void tokens.mint('bare', participant, room).then((jwt) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ identity, token: jwt }));
    });
  });
});
server.listen(0, '127.0.0.1', () =>
  console.log(`bare-token-server listening ${(server.address() as AddressInfo).port}`),
);

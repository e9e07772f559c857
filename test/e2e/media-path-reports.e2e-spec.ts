// A node whose media path is broken while it answers its probes (a firewall dropping its UDP, its public
// interface down): nothing but its participants' reports says so. The nodes here are scripted and stay up
// for the probes throughout; only the reports move a session.
import { describe, expect, it } from '@jest/globals';
import type { NodeSummary, RejoinResponse } from '../../src/contracts';
import { startInProcessApp } from '../support/in-process-app';
import { api, connect, join, operatorApi, type ConnectedParticipant } from '../support/session-client';

/** Longer than the probe loop needs to see anything, were there anything to see. */
const NOTHING_MOVES_MS = 800;

describe("participants' reports move a session off a node that answers its probes", () => {
  it('one participant with a bad network moves nobody; a majority of the session (at least two) moves it, and the node takes no new session for a while', async () => {
    const stack = await startInProcessApp({ nodes: 2 });
    const sockets: ConnectedParticipant[] = [];
    try {
      const ann = await join(stack.url, 'broken-path', 'Ann');
      const bob = await join(stack.url, 'broken-path', 'Bob');
      const cy = await join(stack.url, 'broken-path', 'Cy');
      for (const who of [ann, bob, cy]) sockets.push(await connect(stack.url, who));
      const [annSocket, bobSocket, cySocket] = sockets as [
        ConnectedParticipant,
        ConnectedParticipant,
        ConnectedParticipant,
      ];

      // Ann alone: over the socket and over HTTP, she stays where she is, and so do the others.
      annSocket.socket.emit('media-lost', { url: ann.url });
      const annRejoin = await api<RejoinResponse>(
        stack.url,
        'POST',
        `/api/sessions/broken-path/participants/${ann.identity}/rejoin`,
        { rejoinKey: ann.rejoinKey, failedUrl: ann.url },
      );
      expect(annRejoin.body).toMatchObject({ url: ann.url, generation: 1 });
      await new Promise((resolve) => setTimeout(resolve, NOTHING_MOVES_MS));
      expect(sockets.flatMap((s) => s.rejoins)).toEqual([]);

      // Bob too: two of three, a majority: the session leaves the node, everyone is pushed.
      bobSocket.socket.emit('media-lost', { url: bob.url });
      const moves = await Promise.all(sockets.map((s) => s.nextRejoin(2, 5_000)));
      for (const move of moves) expect(move).toMatchObject({ reason: 'media-path', generation: 2 });
      expect(moves[0]!.url).not.toBe(ann.url);
      expect(cySocket.rejoins).toHaveLength(1);

      // The node still answers its probes, but is marked, and a new session goes elsewhere.
      const nodes = (await operatorApi<NodeSummary[]>(stack.url, '/api/nodes')).body;
      const broken = nodes.find((n) => n.url === ann.url)!;
      expect(broken.status).toBe('up');
      expect(broken.failingForClients?.reason).toMatch(/lost their media path/);
      for (let i = 0; i < 3; i++) expect((await join(stack.url, `after-${i}`, 'Dee')).url).not.toBe(ann.url);
    } finally {
      for (const socket of sockets) socket.close();
      await stack.close();
    }
  });

  it('a participant alone in its session moves on its own report', async () => {
    const stack = await startInProcessApp({ nodes: 2 });
    try {
      const solo = await join(stack.url, 'solo', 'Sol');
      const socket = await connect(stack.url, solo);
      try {
        socket.socket.emit('media-lost', { url: solo.url });
        const move = await socket.nextRejoin(2, 5_000);
        expect(move).toMatchObject({ reason: 'media-path' });
        expect(move.url).not.toBe(solo.url);
      } finally {
        socket.close();
      }
    } finally {
      await stack.close();
    }
  });
});

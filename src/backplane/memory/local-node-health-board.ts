import type { NodeHealthBoard, PeerNodeView } from '../../nodes/node-health-board';

/** One instance: no other instance to share node health with, so nothing is written and nobody announces. */
export class LocalNodeHealthBoard implements NodeHealthBoard {
  constructor(readonly instance = 'this instance') {}

  async publish(): Promise<void> {}

  async read(): Promise<PeerNodeView[]> {
    return [];
  }

  async subscribe(): Promise<void> {}

  close(): void {}
}

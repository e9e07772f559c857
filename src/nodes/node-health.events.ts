// What node health announces. The session rebuild listens for node-down (move every session off it)
// and node-up (place the sessions that were waiting for a node); node-suspect only informs (a suspect
// node takes no new sessions, and nothing moves off it).
import type { NodeTransition } from './node-health.state';

/**
 * What made the verdict: the probe loop, a client's report (or a failed call), the start-up probe, or
 * the probe sent when another instance saw the node change.
 */
export type ProbeTrigger = 'loop' | 'report' | 'startup' | 'peer';

export const NODE_DOWN = 'node-down';
export const NODE_UP = 'node-up';
export const NODE_SUSPECT = 'node-suspect';

/** The payload of node-down, node-up and node-suspect. */
export class NodeTransitionEvent {
  constructor(
    readonly url: string,
    readonly transition: NodeTransition,
    readonly trigger: ProbeTrigger,
  ) {}
}

/** The event announcing a move into `status`, if that move is announced. */
export function nodeEventName(status: NodeTransition['to']): string | undefined {
  switch (status) {
    case 'down':
      return NODE_DOWN;
    case 'up':
      return NODE_UP;
    case 'suspect':
      return NODE_SUSPECT;
    case 'unknown':
      return undefined;
    default: {
      const unreachable: never = status;
      return unreachable;
    }
  }
}

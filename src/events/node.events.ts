// What node health announces. The rebuild listens for node-down (move every session off it) and node-up
// (place the sessions that were waiting for a node); node-suspect only informs (a suspect node takes no
// new sessions, and nothing moves off it).

import type { NodeStatus } from '../contracts';

/**
 * refused/reset: nothing listens; timeout: no answer (a probe given up, or the hung verdict itself);
 * status: answered, but not 200; error: anything else.
 */
export type ProbeFailureKind = 'refused' | 'reset' | 'timeout' | 'status' | 'error';

export interface NodeTransition {
  from: NodeStatus;
  to: NodeStatus;
  reason: string;
  /** What made a node go down: decides the rejoin reason pushed to clients. */
  cause?: ProbeFailureKind;
}

/**
 * What made the verdict: the probe loop, a client's report, a call of ours to the node that failed
 * (RoomService), the start-up probe, or the probe sent when another instance saw the node change.
 */
export type ProbeTrigger = 'loop' | 'report' | 'call' | 'startup' | 'peer';

/** The payload of node-down, node-up and node-suspect. */
export interface NodeTransitionEvent {
  url: string;
  transition: NodeTransition;
  trigger: ProbeTrigger;
}

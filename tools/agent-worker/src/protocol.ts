// What the echo agent says, and on which topics: read by the tests' bots as well.

/**
 * Sent reliably when the agent starts in a room and whenever someone joins it, followed by the agent's
 * identity (`agent-here <identity>`): a data packet can reach a participant before LiveKit announces its
 * sender (rtc-node then names no participant), and the hello is said only then.
 */
export const AGENT_HERE = 'agent-here';
export const agentHere = (identity: string): string => `${AGENT_HERE} ${identity}`;
export const AGENT_TOPIC = 'agent';
/** Every data message the agent receives comes back to the room on this topic, with the same bytes. */
export const ECHO_TOPIC = 'echo';
/** The attribute LiveKit's agents set to say what they are doing; the echo agent is always listening. */
export const AGENT_STATE_ATTRIBUTE = 'lk.agent.state';

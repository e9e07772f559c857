// What the echo agent says, and on which topics: read by the tests' bots as well.

/** Sent reliably when the agent starts in a room and whenever someone joins it. */
export const AGENT_HERE = 'agent-here';
export const AGENT_TOPIC = 'agent';
/** Every data message the agent receives comes back to the room on this topic, with the same bytes. */
export const ECHO_TOPIC = 'echo';
/** The attribute LiveKit's agents set to say what they are doing; the echo agent is always listening. */
export const AGENT_STATE_ATTRIBUTE = 'lk.agent.state';

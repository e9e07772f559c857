/**
 * Set by `npm run cluster` (src/local-stack) on the backend instances it starts, several over Redis
 * behind nginx: the sample app may then crash the instance it talks to. Never set in a real deployment.
 */
export const LOCAL_STACK_ENV = 'SESSION_REBUILDER_LOCAL_STACK';

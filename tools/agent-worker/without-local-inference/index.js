// @livekit/agents 1.9.0 requires @livekit/local-inference inside a try/catch (src/inference/_warmup.ts)
// and, when it cannot load, registers no end-of-turn runner: no inference process, no model.
'use strict';
throw new Error('@livekit/local-inference is left out of tools/agent-worker on purpose: the echo agent loads no model');

// Id and name rules shared by the HTTP DTOs, the socket handshake, the client and the tests.

/** A session id as it appears in URLs and as the LiveKit room name. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
export const SESSION_ID_RULE = 'sessionId must be 1-128 characters of A-Z, a-z, 0-9, _ or -';

/** A participant identity, minted by the backend from the display name. */
export const IDENTITY_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
export const IDENTITY_RULE = 'identity must be 1-128 characters of A-Z, a-z, 0-9, _ or -';

/** A display name: 1-64 printable characters (no control, format or unassigned code points), not blank. */
export const NAME_PATTERN = /^(?=.*\S)[^\p{C}]{1,64}$/u;
export const NAME_RULE = 'name must be 1-64 printable characters';

/** Participant and room metadata, in UTF-8 bytes. */
export const MAX_METADATA_BYTES = 4096;

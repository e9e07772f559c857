// Id, name and URL rules shared by the HTTP DTOs (validation and OpenAPI schema alike), the socket
// handshake, the client and the tests. Each pattern reads the same in JavaScript (with the u flag) and in
// the ECMA-262 dialect of JSON Schema validators, so the schema states exactly what the validator applies.

/** A session id as it appears in URLs and as the LiveKit room name. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
export const SESSION_ID_RULE = 'sessionId must be 1-128 characters of A-Z, a-z, 0-9, _ or -';

/** A participant identity, minted by the backend from the display name. */
export const IDENTITY_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
export const IDENTITY_RULE = 'identity must be 1-128 characters of A-Z, a-z, 0-9, _ or -';

/**
 * What a display name may not hold: control characters (Cc) and the format characters (Cf) up to
 * U+FFFF: soft hyphen, zero-width characters, direction controls, U+FEFF and the like (Unicode 17).
 * Spelled out rather than `\p{Cc}\p{Cf}`, which API testers read differently or not at all; the
 * OpenAPI schema must mean what the validator applies. The format characters beyond U+FFFF (emoji tag
 * sequences, a few script-specific controls) are allowed: no escape for them reads alike in every
 * JSON Schema engine.
 */
const NOT_IN_NAMES = String.raw`\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb`;

/** What "blank" means: JavaScript's \s less the characters above, spelled out for the same reason. */
const SPACES = String.raw` \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;

/**
 * The characters of a display name, not blank: no look-around and no \s, which API testers' regex
 * engines read differently. Its length (1-64 characters) is a rule of its own (NAME_MAX_LENGTH).
 */
export const NAME_CHARACTERS = new RegExp(`^[${SPACES}]*[^${SPACES}${NOT_IN_NAMES}][^${NOT_IN_NAMES}]*$`, 'u');
export const NAME_MAX_LENGTH = 64;

/** The whole display name rule in one pattern, for JavaScript: 1-64 printable characters, not blank. */
export const NAME_PATTERN = new RegExp(`^(?=[\\s\\S]{1,${NAME_MAX_LENGTH}}$)${NAME_CHARACTERS.source.slice(1)}`, 'u');
export const NAME_RULE = 'name must be 1-64 printable characters';

/**
 * An agent name a session asks for (LiveKit's explicit agent dispatch): what a worker registers with
 * `agentName`. Short and plain, as it travels in every token and every CreateRoom.
 */
export const AGENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const AGENT_NAME_RULE =
  'each agent name must be 1-64 characters of A-Z, a-z, 0-9, ., _ or -, starting with a letter or digit';
/** Agents one session may ask for. */
export const MAX_SESSION_AGENTS = 4;

/** Participant and room metadata, in UTF-8 bytes. */
export const MAX_METADATA_BYTES = 4096;

/**
 * A media node URL a client reports (failedUrl): ws:// or wss://, a host, then anything without spaces or
 * control characters. It is only compared with the session's node URL, so nothing finer is needed.
 */
// eslint-disable-next-line no-control-regex -- control characters are what the pattern refuses
export const NODE_URL_PATTERN = /^wss?:\/\/[^\x00-\x20\x7f/?#]+(?:[/?#][^\x00-\x20\x7f]*)?$/;
export const NODE_URL_RULE = 'failedUrl must be a ws:// or wss:// URL';
export const MAX_NODE_URL_LENGTH = 2048;

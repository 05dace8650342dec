/**
 * Text from images, keys and pods (names, labels, annotations, user IDs) is shown to people on a
 * terminal: an escape sequence in it (`1\x1b[31m`) would drive the terminal, and a bidi override
 * (U+202E) would make a line read as something else (issue 12 §4). These make such text inert.
 * Pure.
 */

// C0 controls, DEL, C1 controls; and the bidi embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- as above
const UNSAFE_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_JSON = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const hex = (c: string, width: number): string => c.charCodeAt(0).toString(16).padStart(width, '0');

/** For tables and text lines: every unsafe character as `\xHH` (below U+0100) or `\uHHHH`. */
export function terminalSafe(s: string): string {
  return s.replace(UNSAFE_TEXT, (c) => (c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/** For messages that may span lines (errors): the same, but newline and tab kept. */
export function terminalSafeLines(s: string): string {
  return s.replace(UNSAFE_LINES, (c) => (c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/**
 * For JSON text from JSON.stringify (which already escapes C0 controls): DEL, C1 and bidi
 * characters as `\uHHHH` too. They can only occur inside strings, so the JSON means the same.
 */
export function jsonTerminalSafe(json: string): string {
  return json.replace(UNSAFE_JSON, (c) => `\\u${hex(c, 4)}`);
}

import { createHash } from 'node:crypto';
import type { TeacherRequest } from '../teacher-request.js';

/**
 * What a batch line's custom_id carries on the wire besides the caller's id: `q`, 12 hex digits of
 * the local batch id's hash (Anthropic batches have no metadata: this is how `find` recognises its
 * batch), and whether a response schema was asked for, with 8 hex digits of its name's hash (results
 * come back without their requests, and the parser must know which tool_use block is the answer):
 * `q<tag:12><r<hash:8>|n00000000>_<custom_id>`. Anthropic allows 64 characters of [a-zA-Z0-9_-].
 */
const WIRE_ID = /^q([0-9a-f]{12})([rn][0-9a-f]{8})_([A-Za-z0-9_-]+)$/;
const PREFIX_LENGTH = 23;

/** The caller's custom_ids: what is left of Anthropic's 64 characters after the prefix. */
export const MAX_CUSTOM_ID_LENGTH = 64 - PREFIX_LENGTH - 1;
export const CUSTOM_ID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_CUSTOM_ID_LENGTH}}$`);

const hex = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

export const batchTag = (localId: string): string => hex(localId, 12);

export function wireId(localId: string, customId: string, request: TeacherRequest): string {
  const answer = request.response ? `r${hex(request.response.name, 8)}` : 'n00000000';
  return `q${batchTag(localId)}${answer}_${customId}`;
}

export interface ReadId {
  tag: string;
  customId: string;
  /** Set when a response schema was asked for: whether a tool name is the answer tool's. */
  answerTool?: (toolName: string) => boolean;
}

/** A wire custom_id read back; undefined for one this module did not write. */
export function readId(wire: string): ReadId | undefined {
  const m = WIRE_ID.exec(wire);
  if (!m) return undefined;
  const [, tag, answer, customId] = m;
  const structured = answer.startsWith('r');
  return { tag, customId, answerTool: structured ? (name) => hex(name, 8) === answer.slice(1) : undefined };
}

/** A DNS message that breaks the wire format: the listeners answer it with FORMERR (query-handler.ts). */
import { DotstubError } from '../errors.js';

export class MalformedMessageError extends DotstubError {
  constructor(detail: string) {
    super('ERR_DOTSTUB_MALFORMED', `malformed DNS message: ${detail}`);
  }
}

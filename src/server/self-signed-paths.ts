/** Where the DoT listener's generated certificate lives (kept apart from the generator, which loads node-forge). */
import { join } from 'node:path';

export const SELF_CERT_FILE = 'listener-cert.pem';
export const SELF_KEY_FILE = 'listener-key.pem';

export function selfSignedPaths(dir: string): { cert: string; key: string } {
  return { cert: join(dir, SELF_CERT_FILE), key: join(dir, SELF_KEY_FILE) };
}

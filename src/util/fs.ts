import { stat } from 'node:fs/promises';

/** Whether anything is at `path`; any error reading it (missing, no access) counts as no. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

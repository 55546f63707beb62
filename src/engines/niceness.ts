/**
 * Scheduling niceness of the calling thread, for the reconstruction's worker threads: while a scan is live they run
 * at a high niceness so acquisition and preprocessing (the frameserver, the main thread) always come first and the
 * reconstruction takes only what is left of the cores; after the scan they go back to the process's niceness.
 *
 * On Linux the niceness is per thread, and `os.setPriority(n)` (pid 0) sets the calling thread's. Raising it is
 * always allowed; lowering it again needs CAP_SYS_NICE (or RLIMIT_NICE), so without it a thread stays at the
 * higher niceness, which still gets every idle cycle. Hence best effort: the result is the niceness now in force.
 */
import * as os from "node:os";

/** Niceness Linux accepts: -20 (first) to 19 (last). */
export const MAX_NICENESS = 19;

export function setThreadNiceness(niceness: number): number {
  try {
    os.setPriority(Math.max(-20, Math.min(MAX_NICENESS, Math.round(niceness))));
  } catch {
    // Not permitted (lowering without privilege) or not supported: keep what is in force.
  }
  return os.getPriority();
}

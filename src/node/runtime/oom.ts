// Was a container killed by the OOM killer? Its memory cgroup is gone by the time we learn it
// exited (the runtime removes it, and cgroup v1 counts oom_kill only in the victim's own cgroup),
// so we look for the kernel's `oom-kill:` record naming that cgroup, as cAdvisor does.
import { closeSync, constants, openSync, readSync } from 'node:fs';

/** true/false from the kernel log; undefined when /dev/kmsg cannot be read. */
export function kernelLogShowsOOMKill(cgroupsPath: string): boolean | undefined {
  let fd: number;
  try {
    fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  const needle = `task_memcg=${cgroupsPath},`;
  const buf = Buffer.alloc(8192);
  let found = false;
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') continue; // records overwritten while reading
        if (code === 'EAGAIN') break;
        throw err;
      }
      if (n <= 0) break;
      const record = buf.toString('utf8', 0, n);
      if (record.includes('oom-kill:') && record.includes(needle)) found = true;
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
  return found;
}

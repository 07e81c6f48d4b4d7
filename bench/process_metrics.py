"""Reading a process tree's CPU time and peak memory from /proc, and raising the open-file limit."""

import os
import resource
from pathlib import Path

NOFILE = 65536


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, max(hard, NOFILE)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def preexec_nofile():
    raise_nofile()


# --- /proc helpers -------------------------------------------------------------------------------


def process_tree(pid):
    """pid and all its descendants."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def own_cpu(pid):
    """utime + stime of one process (not its reaped children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid):
    """CPU seconds of a process tree: live processes' own time plus reaped children's (cutime+cstime of the root)."""
    total = 0.0
    for member in process_tree(pid):
        total += own_cpu(member)
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        pass
    return total


def embedded_postgres_cpu():
    """CPU seconds of Optera's embedded PostgreSQL (var/pgdata), which is not a child of the server."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"pginstall/bin/postgres" in cmdline and b"var/pgdata" in cmdline:
            return tree_cpu(int(entry.name))
    return total


def peak_rss_mb(pid):
    """Largest VmHWM (MB) among a process tree's members, and which pid."""
    best = (0.0, pid)
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, (int(line.split()[1]) / 1024, member))
        except OSError:
            continue
    return best[0]


# --- LiteLLM -------------------------------------------------------------------------------------

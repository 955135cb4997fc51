# Runs a command at a real pseudo-terminal, as a person at a terminal would: waits for each expected text in what the
# terminal shows, then types the given keys. Prints one JSON object: everything the terminal showed, the exit code,
# and whether the time ran out. Usage: python3 pty_drive.py '<json: {argv, env, cwd, steps: [[expect, keys]], timeout}>'
import json
import os
import pty
import select
import signal
import sys
import time

spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.chdir(spec["cwd"])
    os.execve(spec["argv"][0], spec["argv"], spec["env"])

out = b""
deadline = time.monotonic() + spec["timeout"]
eof = False


def read_some():
    """Reads what the terminal shows next; False at the end of the output or of the time."""
    global out, eof
    left = deadline - time.monotonic()
    if left <= 0 or eof:
        return False
    ready, _, _ = select.select([fd], [], [], left)
    if not ready:
        return False
    try:
        chunk = os.read(fd, 4096)
    except OSError:  # EIO: the command has exited and closed the terminal
        chunk = b""
    if not chunk:
        eof = True
        return False
    out += chunk
    return True


seen = 0
timed_out = False
for expect, keys in spec["steps"]:
    wanted = expect.encode()
    while out.find(wanted, seen) < 0:
        if not read_some():
            break
    at = out.find(wanted, seen)
    if at < 0:
        timed_out = not eof
        break
    seen = at + len(wanted)
    os.write(fd, keys.encode())

while read_some():
    pass
if not eof:
    timed_out = True
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"output": out.decode("utf-8", "replace"), "code": code, "timedOut": timed_out}))

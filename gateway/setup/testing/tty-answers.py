"""Runs a command on a pseudo-terminal and answers its prompts: argv = [marker, answer, ..., "--", cmd...].
Prints what the terminal showed (escape sequences removed); exits with the command's status."""
import os, pty, re, select, sys, time

sep = sys.argv.index("--")
pairs = list(zip(sys.argv[1:sep:2], sys.argv[2:sep:2]))
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[sep + 1], sys.argv[sep + 1:])
shown = b""

def clean(b):
    return re.sub(rb"\x1b\[[0-9;]*[A-Za-z]", b"", b)

def pump(until=None, seconds=120):
    global shown
    end = time.time() + seconds
    while time.time() < end:
        if until is not None and clean(shown).count(until[0]) >= until[1]:
            return True
        if select.select([fd], [], [], 0.2)[0]:
            try:
                shown += os.read(fd, 4096)
            except OSError:
                return False
    return False

seen = {}
for marker, answer in pairs:
    m = marker.encode()
    seen[m] = seen.get(m, 0) + 1
    if not pump((m, seen[m])):
        break
    os.write(fd, answer.encode() + b"\r")
pump()
sys.stdout.write(clean(shown).decode(errors="replace"))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))

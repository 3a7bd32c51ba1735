"""`make demo` stops cleanly: `make demo-stop` (tools/demo.py --stop) signals
the running demo, which takes Odoo and the sandboxes down with it."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent.parent / "tools"

# The demo's own main() and shutdown(), with Odoo and the sandboxes played by
# a child that would sleep for a minute.
CHILD = f"""
import subprocess, sys
sys.path.insert(0, {str(TOOLS)!r})
import demo

def serve():
    procs = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])]
    print(procs[0].pid, flush=True)
    try:
        return procs[0].wait()
    finally:
        demo.shutdown(procs)

demo.serve = serve
sys.exit(demo.main())
"""


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def demo_stop(pidfile):
    return subprocess.run([sys.executable, str(TOOLS / "demo.py"), "--stop"],
                          env=dict(os.environ, DEMO_PIDFILE=str(pidfile)),
                          capture_output=True, text=True, timeout=90, check=False)


def test_demo_stop_takes_the_demo_and_its_servers_down(tmp_path):
    pidfile = tmp_path / "run" / "demo.pid"
    demo = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, DEMO_PIDFILE=str(pidfile)))
    try:
        server_pid = int(demo.stdout.readline())
        assert pidfile.read_text().strip() == str(demo.pid)
        assert alive(server_pid)
        # Reap the demo as its shell would, so it does not linger as a zombie.
        codes = []
        reaper = threading.Thread(target=lambda: codes.append(demo.wait()))
        reaper.start()
        stopped = demo_stop(pidfile)
        assert stopped.returncode == 0, stopped.stderr
        assert f"demo stopped (pid {demo.pid})" in stopped.stdout
        reaper.join(timeout=30)
        assert codes == [0]
        assert not alive(server_pid)
        assert not pidfile.exists()
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()


def test_demo_stop_without_a_demo_says_so(tmp_path):
    stopped = demo_stop(tmp_path / "demo.pid")
    assert stopped.returncode == 0
    assert "no demo is running" in stopped.stdout


def test_a_stale_pidfile_is_cleared(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    pidfile = tmp_path / "demo.pid"
    pidfile.write_text(f"{gone.pid}\n")
    time.sleep(0.1)
    stopped = demo_stop(pidfile)
    assert stopped.returncode == 0
    assert "had stopped already" in stopped.stdout
    assert not pidfile.exists()

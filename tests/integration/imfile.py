"""rsyslog's imfile as a reader of files, for the tail input's tests and
benchmark: a real rsyslogd, unprivileged, in the foreground (-n), with a
configuration, pid file and work directory of its own in a temporary
directory (python3 standard library only).

    r = Imfile(workdir, paths, out=PATH)          # lines to a file
    r = Imfile(workdir, paths, tcp_port=PORT)     # lines over plain TCP
    r.start(); ...; r.cpu_seconds(); r.stop()

Each line read becomes one line of output: the line as read (%msg%) and a
line feed, written by omfile or sent by omfwd over TCP (newline framed).
imfile runs in inotify mode, reads files seen for the first time from
their start (freshStartTail off), follows rename rotation and reads a
truncated file again from 0 (reopenOnTruncate). rsyslog's own messages go
to rsyslogd.log in the work directory.

Where rsyslogd is: $RSYSLOGD, else /usr/sbin/rsyslogd; its modules:
$RSYSLOG_MODULES (passed as -M), else its built-in directory.
"""

import os
import signal
import subprocess
import time

DEADLINE = 20.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def rsyslogd_path():
    return os.environ.get("RSYSLOGD", "/usr/sbin/rsyslogd")


def available():
    """None when rsyslogd and its imfile module are there, else why not."""
    exe = rsyslogd_path()
    if not os.access(exe, os.X_OK):
        return "no rsyslogd at %s" % exe
    mods = os.environ.get("RSYSLOG_MODULES")
    dirs = [mods] if mods else ["/usr/lib/x86_64-linux-gnu/rsyslog",
                                "/usr/lib/aarch64-linux-gnu/rsyslog",
                                "/usr/lib/rsyslog", "/usr/lib64/rsyslog"]
    if not any(os.path.exists(os.path.join(d, "imfile.so")) for d in dirs):
        return "rsyslog's imfile.so not found in %s" % ", ".join(dirs)
    return None


def _q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Imfile:
    def __init__(self, workdir, paths, out=None, tcp_port=None):
        if (out is None) == (tcp_port is None):
            raise ValueError("one of out and tcp_port")
        self.dir = os.path.abspath(workdir)
        os.makedirs(os.path.join(self.dir, "work"), exist_ok=True)
        self.paths, self.out, self.tcp_port = paths, out, tcp_port
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        self.internal = os.path.join(self.dir, "rsyslogd.log")
        self.stderr_path = os.path.join(self.dir, "rsyslogd.stderr")
        self.proc = None
        self._err = None

    def config_text(self):
        c = ["# imfile.py: rsyslog's imfile reading files for ttlog's tests",
             "global(workDirectory=%s" % _q(os.path.join(self.dir, "work")),
             '  net.enableDNS="off" processInternalMessages="on"',
             '  maxMessageSize="64k")',
             'module(load="imfile" mode="inotify")',
             'template(name="tail_line" type="string" string="%msg%\\n")',
             'ruleset(name="tail_in") {']
        if self.out is not None:
            c.append('  action(type="omfile" file=%s template="tail_line")'
                     % _q(self.out))
        else:
            c += ['  action(type="omfwd" target="127.0.0.1" port="%d"'
                  % self.tcp_port,
                  '    protocol="tcp" template="tail_line"',
                  '    action.resumeRetryCount="-1")']
        c.append("}")
        for i, p in enumerate(self.paths):
            c += ['input(type="imfile" file=%s tag="tail%d"' % (_q(p), i),
                  '  ruleset="tail_in" freshStartTail="off"',
                  '  reopenOnTruncate="on" addMetadata="off")']
        c += ['*.* action(type="omfile" file=%s)' % _q(self.internal), ""]
        return "\n".join(c)

    def start(self):
        with open(self.conf, "w") as f:
            f.write(self.config_text())
        try:  # left by a killed instance: up is when the new one writes it
            os.unlink(self.pidfile)
        except FileNotFoundError:
            pass
        args = [rsyslogd_path(), "-n", "-f", self.conf, "-i", self.pidfile]
        if os.environ.get("RSYSLOG_MODULES"):
            args += ["-M", os.environ["RSYSLOG_MODULES"]]
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self._err, stderr=self._err)
        # Up once it wrote its pid file (after reading the configuration).
        end = time.monotonic() + DEADLINE
        while not os.path.exists(self.pidfile):
            if self.proc.poll() is not None:
                raise RuntimeError("rsyslogd exited (%d): %s"
                                   % (self.proc.returncode, self.log()))
            if time.monotonic() > end:
                raise RuntimeError("rsyslogd not up: %s" % self.log())
            time.sleep(0.01)
        return self

    def log(self):
        text = ""
        for p in (self.stderr_path, self.internal):
            try:
                with open(p, errors="replace") as f:
                    text += f.read()[-2000:]
            except OSError:
                pass
        return text

    def cpu_seconds(self):
        """utime + stime of rsyslogd (all its threads)."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def kill(self):
        """SIGKILL; start() may follow (imfile resumes from the state
        files in the work directory)."""
        return self.stop(signal.SIGKILL)

    def stop(self, sig=signal.SIGTERM):
        """Ends rsyslogd with sig (SIGKILL past the deadline); returns its
        exit status, None when it was not running."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            return proc.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
        finally:
            self._err.close()

#!/usr/bin/env python3
"""Hold the web's listening socket and run gunicorn on it, as systemd does with
governance-web.socket and Restart=always, for a machine without systemd (deploy/run-here.sh).

The socket stays open while gunicorn stops and starts again, so a connection that arrives in
between waits in the socket's queue and is answered by the new gunicorn instead of being refused:
restarting the web loses no request. gunicorn takes the socket by systemd's protocol (file
descriptor 3, LISTEN_FDS=1, LISTEN_PID=its own pid), so COMMAND must exec gunicorn in the process
it is started in.

    socket-holder.py --listen 127.0.0.1:8001 --pid-file RUN_DIR/web.pid -- COMMAND...

Signals to the holder: TERM or INT stops gunicorn (TERM, then KILL after --stop-timeout) and exits;
USR1 restarts gunicorn at once. When gunicorn exits by itself it is started again after
--restart-delay seconds. The pid file holds gunicorn's pid (the one to send HUP or USR1 to).
Standard library only: it runs before, and independently of, the application's virtualenv.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import time

LISTEN_FD = 3  # systemd's SD_LISTEN_FDS_START


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} socket-holder[{os.getpid()}]: {message}", flush=True)


def listening_socket(address: str, backlog: int) -> socket.socket:
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(backlog)
    return sock


def start(command: list[str], sock: socket.socket, pid_file: str) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            if sock.fileno() != LISTEN_FD:
                os.dup2(sock.fileno(), LISTEN_FD)
            os.set_inheritable(LISTEN_FD, True)
            os.environ["LISTEN_FDS"] = "1"
            os.environ["LISTEN_PID"] = str(os.getpid())
            os.execvp(command[0], command)
        except OSError as error:
            print(f"socket-holder: cannot start {command[0]}: {error}", file=sys.stderr, flush=True)
        os._exit(127)
    temporary = f"{pid_file}.tmp"
    with open(temporary, "w") as handle:
        handle.write(f"{pid}\n")
    os.replace(temporary, pid_file)
    log(f"started {command[0]} as {pid}")
    return pid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", required=True, help="host:port")
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument("--restart-delay", type=float, default=2.0)
    parser.add_argument("--stop-timeout", type=float, default=70.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    if not command:
        parser.error("no command to run")

    sock = listening_socket(options.listen, options.backlog)
    log(f"listening on {options.listen}")
    wanted: list[str] = []  # signals received, acted on by the loop below
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
        signal.signal(number, lambda signum, frame: wanted.append(signal.Signals(signum).name))

    child = start(command, sock, options.pid_file)
    stopping = False  # TERM or INT received: exit once gunicorn has gone
    kill_at = None  # when gunicorn, sent TERM, gets KILL
    restart_at = None  # when to start gunicorn again
    while True:
        while wanted:
            name = wanted.pop(0)
            if child and kill_at is None:
                os.kill(child, signal.SIGTERM)
                kill_at = time.monotonic() + options.stop_timeout
            if name == "SIGUSR1":
                restart_at = 0.0  # as soon as the old one has gone
            else:
                stopping = True
        if child:
            finished, status = os.waitpid(child, os.WNOHANG)
            if finished:
                log(f"{child} exited ({os.waitstatus_to_exitcode(status)})")
                child, kill_at = 0, None
                if restart_at is None:
                    restart_at = time.monotonic() + options.restart_delay
            elif kill_at is not None and time.monotonic() > kill_at:
                log(f"{child} did not stop in {options.stop_timeout:.0f} s: killed")
                os.kill(child, signal.SIGKILL)
                kill_at = time.monotonic() + options.stop_timeout
        elif stopping:
            break
        elif time.monotonic() >= restart_at:
            restart_at = None
            child = start(command, sock, options.pid_file)
        time.sleep(0.05)
    sock.close()
    try:
        os.unlink(options.pid_file)
    except FileNotFoundError:
        pass
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

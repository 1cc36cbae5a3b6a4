#!/bin/bash
# Run the deployment without systemd (a container, a test machine whose PID 1 is not systemd):
# the SAME commands as the units in deploy/systemd/ (their ExecStart lines are read from the unit
# files), with the same environment file, plus nginx from deploy/nginx/governance.conf.
#
#   deploy/run-here.sh start|stop|status           all of web, worker, beat and nginx
#   deploy/run-here.sh restart web|worker|beat|nginx   web: the socket stays open, no request lost
#   deploy/run-here.sh reload                       gunicorn HUP: new code, no request lost
#   deploy/run-here.sh reopen-logs                  gunicorn USR1 (log rotation)
#   deploy/run-here.sh backup                       what governance-backup.timer runs
#
# Settings (environment, defaults for a standard install):
#   ENV_FILE=/etc/governance/governance.env  APP_DIR=/opt/governance/app  VENV=/opt/governance/venv
#   LOG_DIR=/var/log/governance  RUN_DIR=/run/governance
#   HTTP_LISTEN=80  HTTPS_LISTEN=443  (e.g. 127.0.0.1:8080 and 127.0.0.1:8443 on a test machine)
#   TLS_DIR=/etc/governance/tls (fullchain.pem, privkey.pem; a self-signed pair is made if missing)
# The web's listening socket is held by deploy/socket-holder.py, as systemd holds governance-web.socket:
# connections that arrive while gunicorn restarts wait instead of being refused, and the holder starts
# gunicorn again if it dies. Unlike systemd nothing restarts a worker or beat that dies; use `status`.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ENV_FILE="${ENV_FILE:-/etc/governance/governance.env}"
APP_DIR="${APP_DIR:-/opt/governance/app}"
VENV="${VENV:-/opt/governance/venv}"
LOG_DIR="${LOG_DIR:-/var/log/governance}"
RUN_DIR="${RUN_DIR:-/run/governance}"
HTTP_LISTEN="${HTTP_LISTEN:-80}"
HTTPS_LISTEN="${HTTPS_LISTEN:-443}"
TLS_DIR="${TLS_DIR:-/etc/governance/tls}"
SERVICES=(web worker beat)

set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a
mkdir -p "$LOG_DIR" "$RUN_DIR" "${VAR_DIR:-/var/lib/governance}"

# The unit's ExecStart (continuation lines joined), with this machine's paths and the environment.
unit_command() {
    local unit="$HERE/systemd/governance-$1.service"
    sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | sed -e 's/^ExecStart=//' -e 's/\\$//' | tr -s ' \n' ' ' |
        sed -e "s#/opt/governance/app#$APP_DIR#g" -e "s#/opt/governance/venv#$VENV#g" \
            -e "s#/var/log/governance#$LOG_DIR#g" -e "s#/var/lib/governance#${VAR_DIR:-/var/lib/governance}#g" |
        envsubst
}

pid_of() { cat "$RUN_DIR/$1.pid" 2>/dev/null || true; }
running() { local pid; pid="$(pid_of "$1")"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

# The web: the holder binds WEB_BIND and runs `run-here.sh exec-web` (gunicorn on that socket), with
# a clean environment so that each start reads the environment file afresh, as systemd does.
start_web() {
    nohup env -i PATH="$PATH" HOME="${HOME:-/}" LANG="${LANG:-C.UTF-8}" ENV_FILE="$ENV_FILE" APP_DIR="$APP_DIR" \
        VENV="$VENV" LOG_DIR="$LOG_DIR" RUN_DIR="$RUN_DIR" \
        "$VENV/bin/python" "$HERE/socket-holder.py" --listen "$WEB_BIND" --pid-file "$RUN_DIR/web.pid" \
        -- "$HERE/run-here.sh" exec-web >>"$LOG_DIR/web.out" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/web-socket.pid"
    for _ in $(seq 1 50); do running web && break; sleep 0.1; done
    if ! holder_running; then
        echo "web: NOT started: the socket holder exited (is $WEB_BIND taken? see $LOG_DIR/web.out)" >&2; return 1
    fi
    echo "web: started ($(pid_of web)) on $WEB_BIND, socket held by $(cat "$RUN_DIR/web-socket.pid")"
}

holder_running() {
    local holder
    holder="$(cat "$RUN_DIR/web-socket.pid" 2>/dev/null || true)"
    [ -n "$holder" ] && kill -0 "$holder" 2>/dev/null
}

stop_web() {
    local holder
    if ! holder_running; then
        rm -f "$RUN_DIR/web-socket.pid"
        # A gunicorn started by an earlier version of this script, bound to WEB_BIND itself.
        if running web; then stop_plain web; else echo "web: not running"; fi
        return
    fi
    holder="$(cat "$RUN_DIR/web-socket.pid")"
    kill -TERM "$holder"   # the holder stops gunicorn (KILL after 70 s), then closes the socket
    for _ in $(seq 1 80); do kill -0 "$holder" 2>/dev/null || break; sleep 1; done
    rm -f "$RUN_DIR/web-socket.pid"
    echo "web: stopped"
}

restart_web() {
    local old
    old="$(pid_of web)"
    if ! holder_running; then stop_web; start_web; return; fi
    kill -USR1 "$(cat "$RUN_DIR/web-socket.pid")"   # TERM to gunicorn; a new one starts on the same socket once it has gone
    for _ in $(seq 1 800); do [ "$(pid_of web)" != "$old" ] && running web && break; sleep 0.1; done
    echo "web: restarted ($old -> $(pid_of web)); the socket stayed open"
}

start_one() {
    if running "$1"; then echo "$1: already running ($(pid_of "$1"))"; return; fi
    if [ "$1" = web ]; then start_web; return; fi
    local command
    command="$(unit_command "$1")"
    # nohup execs the command itself: the recorded pid is gunicorn's or celery's main process.
    pushd "$APP_DIR" >/dev/null
    # shellcheck disable=SC2086
    nohup $command >>"$LOG_DIR/$1.out" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/$1.pid"
    popd >/dev/null
    echo "$1: started ($(pid_of "$1")): $command"
}

stop_one() {
    if [ "$1" = web ]; then stop_web; else stop_plain "$1"; fi
}

stop_plain() {
    local pid
    pid="$(pid_of "$1")"
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then echo "$1: not running"; rm -f "$RUN_DIR/$1.pid"; return; fi
    kill -TERM "$pid"
    for _ in $(seq 1 70); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$RUN_DIR/$1.pid"
    echo "$1: stopped"
}

nginx_conf() {
    # deploy/nginx/governance.conf with this machine's ports, paths and certificate, in a main config.
    local site="$RUN_DIR/nginx-governance.conf" main="$RUN_DIR/nginx.conf" https_port=""
    # The redirect from http keeps a port other than 443 (a test machine's 127.0.0.1:8443).
    case "$HTTPS_LISTEN" in *:443|443) ;; *:*) https_port=":${HTTPS_LISTEN##*:}" ;; *) https_port=":$HTTPS_LISTEN" ;; esac
    if [ ! -f "$TLS_DIR/fullchain.pem" ]; then
        mkdir -p "$TLS_DIR"
        openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
            -keyout "$TLS_DIR/privkey.pem" -out "$TLS_DIR/fullchain.pem" 2>/dev/null
        # stderr: start_nginx keeps only the last line of stdout (the config path).
        echo "nginx: made a self-signed certificate in $TLS_DIR (replace it with the real one)" >&2
    fi
    sed -e "s#listen 80;#listen $HTTP_LISTEN;#" -e "s#listen 443 ssl http2;#listen $HTTPS_LISTEN ssl http2;#" \
        -e '/listen \[::\]/d' -e "s#server 127.0.0.1:8001;#server $WEB_BIND;#" \
        -e "s#/etc/governance/tls#$TLS_DIR#g" -e "s#/var/lib/governance/static/#$STATIC_ROOT/#" \
        -e "s#/var/log/nginx/#$LOG_DIR/nginx-#" -e "s#https://\$host\$request_uri#https://\$host$https_port\$request_uri#" \
        "$HERE/nginx/governance.conf" >"$site"
    cat >"$main" <<EOF
worker_processes auto;
pid $RUN_DIR/nginx.pid;
error_log $LOG_DIR/nginx-error.log;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 65;
    include $site;
}
EOF
    echo "$main"
}

start_nginx() {
    local main
    main="$(nginx_conf | tail -1)"
    if [ -f "$RUN_DIR/nginx.pid" ] && kill -0 "$(cat "$RUN_DIR/nginx.pid")" 2>/dev/null; then
        nginx -c "$main" -t -q && nginx -c "$main" -s reload && echo "nginx: reloaded"
    else
        nginx -c "$main" </dev/null >>"$LOG_DIR/nginx.out" 2>&1 && echo "nginx: started (https on $HTTPS_LISTEN, http on $HTTP_LISTEN)"
    fi
}

stop_nginx() {
    if [ -f "$RUN_DIR/nginx.pid" ] && kill -0 "$(cat "$RUN_DIR/nginx.pid")" 2>/dev/null; then
        kill -QUIT "$(cat "$RUN_DIR/nginx.pid")"; echo "nginx: stopped"
    else
        echo "nginx: not running"
    fi
}

case "${1:-}" in
    start)
        for s in "${SERVICES[@]}"; do start_one "$s"; done
        start_nginx ;;
    stop)
        stop_nginx
        for s in "${SERVICES[@]}"; do stop_one "$s"; done ;;
    restart)
        case "${2:-}" in
            nginx) stop_nginx; sleep 1; start_nginx ;;
            web) restart_web ;;
            worker|beat) stop_one "$2"; start_one "$2" ;;
            *) echo "restart web|worker|beat|nginx" >&2; exit 2 ;;
        esac ;;
    exec-web)  # run by socket-holder.py in the process it passes the socket to
        cd "$APP_DIR"
        # shellcheck disable=SC2046
        exec $(unit_command web) ;;
    reload) kill -HUP "$(pid_of web)" && echo "web: reloading (new workers, old ones finish their requests)" ;;
    reopen-logs) kill -USR1 "$(pid_of web)" ;;
    backup) APP_DIR="$APP_DIR" PYTHON="$VENV/bin/python" "$HERE/backup.sh" ;;
    status)
        for s in "${SERVICES[@]}"; do
            if running "$s"; then echo "$s: running ($(pid_of "$s"))"; else echo "$s: STOPPED"; fi
            [ "$s" = web ] && holder_running && echo "web socket: held by $(cat "$RUN_DIR/web-socket.pid") on $WEB_BIND"
        done
        if [ -f "$RUN_DIR/nginx.pid" ] && kill -0 "$(cat "$RUN_DIR/nginx.pid")" 2>/dev/null; then
            echo "nginx: running"; else echo "nginx: STOPPED"; fi ;;
    *) sed -n '2,19p' "$0"; exit 2 ;;
esac

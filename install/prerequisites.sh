#!/usr/bin/env bash
# What the README's two commands need from a Debian host, installed from Debian's packages and
# started where this user may (root, or sudo), or else listed in one message with the commands.
#   prerequisites.sh dev [bubblewrap|docker]   what `./airlock dev` needs for that driver
#   prerequisites.sh test                      what `./airlock test` (the whole suite) needs
# Exit 0 when everything is there and running, 2 when something is missing that it could not add.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
mode=${1:-}
driver=${2:-bubblewrap}
case "$mode" in
  dev) case "$driver" in bubblewrap|docker) ;; *) echo "prerequisites.sh: unknown driver '$driver' (expected bubblewrap or docker)" >&2; exit 2 ;; esac ;;
  test) ;;
  *) echo "usage: prerequisites.sh dev [bubblewrap|docker] | test" >&2; exit 2 ;;
esac

packages=() reasons=()
want() {  # want PACKAGE WHY: the package is missing; WHY says what it is for
  local p
  for p in "${packages[@]}"; do [ "$p" = "$1" ] && return 0; done
  packages+=("$1") reasons+=("$1 ($2)")
}
static_busybox() { [ -x /bin/busybox ] && (ldd /bin/busybox 2>&1 || true) | grep -q 'not a dynamic'; }
has_jdk21() {
  local javac
  for javac in ${AIRLOCK_JAVA_HOME:+"$AIRLOCK_JAVA_HOME/bin/javac"} ${JAVA_HOME:+"$JAVA_HOME/bin/javac"} /usr/lib/jvm/*/bin/javac; do
    [ -x "$javac" ] && "$javac" -version 2>&1 | grep -Eq 'javac (2[1-9]|[3-9][0-9])' && return 0
  done
  return 1
}

# Everything the build needs, for both commands.
command -v mvn >/dev/null 2>&1 || want maven "builds the project"
has_jdk21 || want openjdk-21-jdk-headless "the build needs a JDK >= 21 (a JRE cannot compile)"
command -v bwrap >/dev/null 2>&1 || want bubblewrap "the bubblewrap driver's sandboxes"
if [ "$mode" = test ] || [ "$driver" = docker ]; then
  command -v dockerd >/dev/null 2>&1 || want docker.io "the Docker driver's engine"
  static_busybox || want busybox-static "the Docker sandbox image is built from Debian's static busybox"
fi
if [ "$mode" = test ]; then
  [ -x /usr/bin/socat ] || want socat "bubblewrap sandboxes reach the egress proxy through it"
  command -v runsc >/dev/null 2>&1 || want runsc "gVisor, for the Docker template tests"
  [ -x /usr/bin/python3 ] || want python3 "the metrics test's parser"
  [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null \
    || want python3-prometheus-client "the metrics test parses /metrics with Prometheus' own parser"
  # The systemd unit is checked with systemd-analyze verify and security (no systemd needs to run).
  command -v systemd-analyze >/dev/null 2>&1 || want systemd "systemd-analyze checks the shipped unit"
  # The install test boots a clean Debian (debootstrap) with systemd-nspawn and installs the .deb in it.
  command -v debootstrap >/dev/null 2>&1 || want debootstrap "the install test makes a clean Debian root"
  command -v systemd-nspawn >/dev/null 2>&1 || want systemd-container "the install test boots that root"
  [ -x /usr/bin/curl ] || want curl "the egress tests' client inside sandboxes"
  command -v node >/dev/null 2>&1 || want nodejs "real MCP peers from npm"
  command -v npm >/dev/null 2>&1 || want npm "installs those MCP peers"
fi

# Who may install and start things: root, or a user with sudo.
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && { [ -t 0 ] || sudo -n true 2>/dev/null; }; then
    as_root=(sudo)
  else
    as_root=(none)
  fi
fi

docker_answers() { docker info >/dev/null 2>&1; }
missing_docker_engine=false
if { [ "$mode" = test ] || [ "$driver" = docker ]; } && command -v docker >/dev/null 2>&1 && ! docker_answers; then
  missing_docker_engine=true
fi

if [ ${#packages[@]} -gt 0 ]; then
  if [ "${as_root[*]}" = none ] || ! command -v apt-get >/dev/null 2>&1; then
    {
      echo "airlock: missing what './airlock $mode' needs; as root, run:"
      echo "    apt-get install -y ${packages[*]}"
      { [ "$mode" = test ] || [ "$driver" = docker ]; } && echo "    dockerd &   # or: systemctl start docker"
      echo "  for:"
      printf '    %s\n' "${reasons[@]}"
    } >&2
    exit 2
  fi
  printf 'airlock: installing from Debian'"'"'s packages: %s\n' "${reasons[@]}" >&2
  apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)  # sudo would drop an exported variable
  apt_log=$(mktemp)
  # apt's chatter (debconf notes, progress) only when it fails.
  if ! { "${apt[@]}" update -qq && "${apt[@]}" install -y -qq "${packages[@]}"; } >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    echo "airlock: apt-get could not install ${packages[*]} (its output is above)" >&2
    rm -f "$apt_log"
    exit 2
  fi
  rm -f "$apt_log"
  has_jdk21 || { echo "airlock: still no JDK >= 21 under /usr/lib/jvm; install one (a JDK, not a JRE) or set AIRLOCK_JAVA_HOME" >&2; exit 2; }
  if { [ "$mode" = test ] || [ "$driver" = docker ]; } && ! docker_answers; then
    missing_docker_engine=true
  fi
fi

# A Docker Engine that answers: systemd's unit where systemd runs, else dockerd in the background.
if $missing_docker_engine; then
  if [ "${as_root[*]}" = none ]; then
    echo "airlock: no Docker Engine answers; as root, start one: dockerd &   (or: systemctl start docker)" >&2
    exit 2
  fi
  echo "airlock: starting dockerd (no Docker Engine answers)" >&2
  if [ -d /run/systemd/system ]; then
    "${as_root[@]}" systemctl start docker
  else
    "${as_root[@]}" sh -c 'nohup setsid dockerd >/var/log/airlock-dockerd.log 2>&1 </dev/null &'
  fi
  for _ in $(seq 60); do docker_answers && break; sleep 1; done
  docker_answers || {
    echo "airlock: dockerd did not come up within 60 s; see /var/log/airlock-dockerd.log or journalctl -u docker" >&2
    exit 2
  }
fi

[ "$mode" = test ] || exit 0

# gVisor for the Docker template tests: runsc registered with the engine. It runs with
# --network=none, which is all sandboxes get anyway. SIGHUP makes a running dockerd reload it.
if ! docker info --format '{{json .Runtimes}}' | grep -q '"runsc"'; then
  if [ "${as_root[*]}" = none ]; then
    echo "airlock: runsc is not registered with dockerd; as root, add it to /etc/docker/daemon.json (runtimes.runsc:" \
      "{path: /usr/bin/runsc, runtimeArgs: [--network=none]}) and send dockerd SIGHUP" >&2
    exit 2
  fi
  echo "airlock: registering runsc (gVisor) with dockerd, for the Docker template tests" >&2
  "${as_root[@]}" mkdir -p /etc/docker
  "${as_root[@]}" python3 - <<'PY'
import json, os
path = "/etc/docker/daemon.json"
config = json.load(open(path)) if os.path.exists(path) else {}
config.setdefault("runtimes", {})["runsc"] = {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none"]}
json.dump(config, open(path, "w"), indent=2)
PY
  "${as_root[@]}" kill -HUP "$(pidof dockerd)"
  for _ in $(seq 30); do docker info --format '{{json .Runtimes}}' | grep -q '"runsc"' && break; sleep 1; done
  docker info --format '{{json .Runtimes}}' | grep -q '"runsc"' || { echo "airlock: dockerd did not pick up runsc" >&2; exit 2; }
fi

# Real MCP peers (the everything server, the TypeScript SDK, supergateway) at the versions package.json
# pins; no lock file is committed (it would name the registry's host).
# Installed again when any installed version differs from the pin (a bumped SDK is picked up).
peers_current() {
  (cd "$repo/mcp-peers" && node -e '
    const deps = require("./package.json").dependencies;
    for (const [name, want] of Object.entries(deps)) {
      let have;
      try { have = require("./node_modules/" + name + "/package.json").version; } catch { process.exit(1); }
      if (have !== want) process.exit(1);
    }') 2>/dev/null
}
if ! peers_current; then
  echo "airlock: installing the MCP peers from npm (mcp-peers/package.json), for the MCP tunnel's tests" >&2
  (cd "$repo/mcp-peers" && npm install --no-package-lock --no-audit --no-fund --loglevel=error)
fi

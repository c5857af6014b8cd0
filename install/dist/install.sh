#!/bin/sh
# Installs Airlock from this unpacked tarball as a systemd service, or upgrades or removes it.
# Running it again with the same flags changes nothing. Run ./install.sh --help.
set -eu

usage() {
  cat <<'EOF'
usage: sudo ./install.sh [options]            install, or upgrade to this tarball's version
       sudo ./install.sh --uninstall [--purge]

  --token-file FILE       enrol now with the join token in FILE (read once, as root; never in argv)
  --name NAME             the agent's name at enrolment (default: the host name)
  --control-plane H:P     control_plane.address (default: the address in the join token)
  --driver NAME           a sandbox driver to enable: bubblewrap or docker; repeat for both; the
                          first is the default (default: bubblewrap). docker puts the airlock user
                          into the docker group.
  --docker-image IMAGE    the docker driver's default image
  --admin-listen H:P      the loopback admin endpoint (default: 127.0.0.1:9464)
  --prefix DIR            where the files go (default: /opt/airlock)
  --no-start              install and enable, but do not start or restart the service
  --uninstall             stop and remove the service, the files and the configuration; keeps the
                          agent's state (identity, sandboxes) in /var/lib/airlock and its audit log
                          in /var/log/airlock
  --purge                 with --uninstall: remove state and audit log as well

The configuration (/etc/airlock/airlock.yaml) is written from the flags when any of --control-plane,
--driver, --docker-image or --admin-listen is given, or when there is none; otherwise an upgrade keeps
it as it is. A configuration that changes is kept beside it as airlock.yaml.previous.
EOF
}

src=$(cd "$(dirname "$0")" && pwd)
prefix=/opt/airlock token_file="" name="" control_plane="" drivers="" docker_image="" admin_listen=""
start=yes uninstall=no purge=no config_flags=no
need() { [ $# -ge 2 ] || { echo "install.sh: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --token-file) need "$@"; token_file=$2; shift 2 ;;
    --name) need "$@"; name=$2; shift 2 ;;
    --control-plane) need "$@"; control_plane=$2; config_flags=yes; shift 2 ;;
    --driver) need "$@"
      case "$2" in bubblewrap|docker) ;; *) echo "install.sh: --driver '$2' is not a driver (expected bubblewrap or docker)" >&2; exit 2 ;; esac
      drivers="${drivers:+$drivers, }$2"; config_flags=yes; shift 2 ;;
    --docker-image) need "$@"; docker_image=$2; config_flags=yes; shift 2 ;;
    --admin-listen) need "$@"; admin_listen=$2; config_flags=yes; shift 2 ;;
    --prefix) need "$@"; prefix=$2; shift 2 ;;
    --no-start) start=no; shift ;;
    --uninstall) uninstall=yes; shift ;;
    --purge) purge=yes; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "install.sh: run it as root (it creates a system user and a service)" >&2; exit 2; }
[ "$purge" = no ] || [ "$uninstall" = yes ] || { echo "install.sh: --purge goes with --uninstall" >&2; exit 2; }
case "$prefix" in /*) ;; *) echo "install.sh: --prefix must be an absolute path, got '$prefix'" >&2; exit 2 ;; esac
if [ -n "$token_file" ] && ! [ -r "$token_file" ]; then
  echo "install.sh: cannot read the token file '$token_file'" >&2; exit 2
fi
for v in "$name" "$control_plane" "$docker_image" "$admin_listen"; do
  case "$v" in *[\"\\]*|*"
"*) echo "install.sh: '$v': quotes, backslashes and newlines are not allowed in a value" >&2; exit 2 ;; esac
done

. "$src/libexec/system-setup.sh"
unit=/etc/systemd/system/airlock.service
# Only ever replace or remove a directory that holds an Airlock: --prefix /usr must not cost /usr.
is_airlock() { [ -f "$1/VERSION" ] && [ -x "$1/bin/airlock" ] && [ -d "$1/runtime" ]; }
if [ -d "$prefix" ] && [ -n "$(ls -A "$prefix")" ] && ! is_airlock "$prefix"; then
  echo "install.sh: $prefix exists and holds no Airlock; choose another --prefix" >&2; exit 2
fi
if command -v dpkg-query >/dev/null 2>&1 && [ "$(dpkg-query -W -f '${db:Status-Status}' airlock 2>/dev/null)" = installed ]; then
  echo "install.sh: the airlock package is installed; upgrade or remove it with apt, not with install.sh" >&2; exit 2
fi
changed=no
note() { airlock_say "$*"; changed=yes; }

if [ "$uninstall" = yes ]; then
  if airlock_systemd_running && [ -f "$unit" ]; then
    systemctl disable --now airlock.service >/dev/null 2>&1 || true
  fi
  rm -f "$unit" && { airlock_systemd_running && systemctl daemon-reload || true; }
  [ "$(readlink /usr/bin/airlock 2>/dev/null)" = "$prefix/bin/airlock" ] && rm -f /usr/bin/airlock
  rm -rf "$prefix" "$AIRLOCK_ETC"
  if [ "$purge" = yes ]; then
    rm -rf "$AIRLOCK_STATE" "$AIRLOCK_LOGS"
    airlock_say "removed, with its state and audit log"
  else
    airlock_say "removed; kept $AIRLOCK_STATE (identity, sandboxes) and $AIRLOCK_LOGS (audit log)"
  fi
  exit 0
fi

# The files: copied beside the old ones, then swapped in, so a failed copy leaves the old version whole.
if ! [ -d "$prefix" ] || ! diff -r "$src" "$prefix" >/dev/null 2>&1; then
  rm -rf "$prefix.new"
  mkdir -p "$(dirname "$prefix")"
  cp -R "$src" "$prefix.new"
  chown -R root:root "$prefix.new"
  chmod -R go-w "$prefix.new"
  [ -d "$prefix" ] && mv "$prefix" "$prefix.old"
  mv "$prefix.new" "$prefix"
  rm -rf "$prefix.old"
  note "installed $(cat "$prefix/VERSION") in $prefix"
fi
airlock="$prefix/bin/airlock"
[ "$(readlink /usr/bin/airlock 2>/dev/null || true)" = "$airlock" ] || { ln -sfn "$airlock" /usr/bin/airlock; note "linked /usr/bin/airlock"; }

airlock_ensure_user
airlock_ensure_dirs

# The configuration, from the flags.
checked=no
if [ "$config_flags" = yes ] || ! [ -f "$AIRLOCK_CONFIG" ]; then
  drivers=${drivers:-bubblewrap}
  new=$(mktemp)
  {
    echo "# Written by install.sh; every field, with its default: $prefix/docs/configuration.md"
    echo "state_dir: $AIRLOCK_STATE"
    echo "control_plane:"
    echo "  address: \"$control_plane\""
    echo "drivers:"
    echo "  default: ${drivers%%,*}"
    echo "  enabled: [$drivers]"
    [ -n "$docker_image" ] && echo "  options: {docker: {image: \"$docker_image\"}}"
    echo "admin:"
    echo "  listen: \"${admin_listen:-127.0.0.1:9464}\""
    echo "audit:"
    echo "  dir: $AIRLOCK_LOGS"
    echo "log: {level: info, format: json}"
    echo "drain:"
    echo "  grace_period: 30s    # keep below the unit's TimeoutStopSec (45s)"
  } > "$new"
  if ! cmp -s "$new" "$AIRLOCK_CONFIG"; then
    "$airlock" config check --config "$new" >/dev/null || { rm -f "$new"; exit 2; }
    checked=yes
    [ -f "$AIRLOCK_CONFIG" ] && cp -p "$AIRLOCK_CONFIG" "$AIRLOCK_CONFIG.previous"
    install -m 0640 -o root -g airlock "$new" "$AIRLOCK_CONFIG"
    note "wrote $AIRLOCK_CONFIG"
  fi
  rm -f "$new"
fi
# A configuration kept as it was must still load with these programs (one just written was checked).
[ "$checked" = yes ] || "$airlock" config check --config "$AIRLOCK_CONFIG" >/dev/null
airlock_sync_docker_group "$airlock"
[ "$airlock_groups_changed" = no ] || changed=yes  # a running agent gets a new group only by a restart

# The unit, with this prefix.
new=$(mktemp)
sed "s|/opt/airlock|$prefix|g" "$prefix/systemd/airlock.service" > "$new"
unit_changed=no
if ! cmp -s "$new" "$unit"; then
  install -m 0644 "$new" "$unit"
  unit_changed=yes
  note "installed $unit"
fi
rm -f "$new"

# Enrolment, as the airlock user (its key is made in its state directory): the token goes in on stdin.
if [ -n "$token_file" ]; then
  if [ -f "$AIRLOCK_STATE/identity/agent.crt" ]; then
    airlock_say "already enrolled; $token_file not used (to enrol again: airlock enroll --force, as the airlock user)"
  else
    setpriv --reuid=airlock --regid=airlock --init-groups --reset-env -- \
      "$airlock" enroll --config "$AIRLOCK_CONFIG" ${name:+--name "$name"} --token-file - < "$token_file"
    note "enrolled"
  fi
fi

if airlock_systemd_running; then
  [ "$unit_changed" = no ] || systemctl daemon-reload
  systemctl is-enabled --quiet airlock.service 2>/dev/null || { systemctl enable --quiet airlock.service; note "enabled airlock.service"; }
  if [ "$start" = yes ]; then
    if ! [ -f "$AIRLOCK_STATE/identity/agent.crt" ]; then
      airlock_say "not started: not enrolled yet (run this again with --token-file)"
    elif ! systemctl is-active --quiet airlock.service; then
      systemctl start airlock.service && note "started airlock.service"
    elif [ "$changed" = yes ]; then
      systemctl restart airlock.service && note "restarted airlock.service"
    fi
  fi
else
  airlock_say "systemd is not running here: start the agent with '$airlock run --config $AIRLOCK_CONFIG' as the airlock user"
fi
[ "$changed" = yes ] || airlock_say "nothing to change"

# shellcheck shell=sh
# What the package's postinst and install.sh both do to the system, sourced by each: the airlock
# user, its directories and files with their owners and modes, and its docker group membership.
# Every function may run again and again; it changes only what is not as it should be.

AIRLOCK_ETC=/etc/airlock
AIRLOCK_CONFIG=$AIRLOCK_ETC/airlock.yaml
AIRLOCK_TOKEN=$AIRLOCK_ETC/join-token
AIRLOCK_STATE=/var/lib/airlock
AIRLOCK_LOGS=/var/log/airlock

airlock_say() { echo "airlock: $*"; }

# A system user and group without a shell or a home of its own; the state directory is its home.
airlock_ensure_user() {
  getent group airlock >/dev/null || { groupadd --system airlock && airlock_say "created group airlock"; }
  getent passwd airlock >/dev/null || {
    useradd --system --gid airlock --home-dir "$AIRLOCK_STATE" --no-create-home --shell /usr/sbin/nologin \
      --comment "Airlock agent" airlock && airlock_say "created user airlock"
  }
}

# $1 path, $2 owner:group, $3 mode (octal, as stat prints it): fixes only what differs.
airlock_ensure_owner_mode() {
  if [ "$(stat -c "%U:%G %a" "$1")" != "$2 $3" ]; then
    chown "$2" "$1" && chmod "$3" "$1" && airlock_say "set $1 to $2 $3"
  fi
}

# State and audit logs are the agent's alone (0700): its key, its sandboxes, its tamper-evident log.
# The configuration is root's and readable by the agent (0640); the join token root's alone (0600),
# handed to the service by LoadCredential=. The token file stays, empty once enrolled: systemd fails
# a start whose credential file is missing.
airlock_ensure_dirs() {
  for d in "$AIRLOCK_STATE" "$AIRLOCK_LOGS"; do
    [ -d "$d" ] || install -d -m 0700 "$d"
    airlock_ensure_owner_mode "$d" airlock:airlock 700
  done
  [ -d "$AIRLOCK_ETC" ] || install -d -m 0750 "$AIRLOCK_ETC"
  airlock_ensure_owner_mode "$AIRLOCK_ETC" root:airlock 750
  [ -f "$AIRLOCK_CONFIG" ] && airlock_ensure_owner_mode "$AIRLOCK_CONFIG" root:airlock 640
  [ -e "$AIRLOCK_TOKEN" ] || install -m 0600 /dev/null "$AIRLOCK_TOKEN"
  airlock_ensure_owner_mode "$AIRLOCK_TOKEN" root:root 600
}

# The airlock user is in the docker group while the configuration names the docker driver, and only
# then: that group is root on the host. $1: the airlock command. Sets airlock_groups_changed to yes
# when it changed the membership (a running agent gets its groups only by a restart), else no.
airlock_sync_docker_group() {
  airlock_groups_changed=no
  drivers=$("$1" config drivers --config "$AIRLOCK_CONFIG" 2>&1) || {
    airlock_say "WARNING: $AIRLOCK_CONFIG does not load, docker group membership left as it is: $drivers" >&2
    return 0
  }
  member=no
  id -nG airlock | tr ' ' '\n' | grep -qx docker && member=yes
  if printf '%s\n' "$drivers" | grep -qx docker; then
    if [ "$member" = no ]; then
      if getent group docker >/dev/null; then
        usermod -a -G docker airlock && airlock_groups_changed=yes \
          && airlock_say "added user airlock to group docker (the docker driver is configured)"
      else
        airlock_say "WARNING: the docker driver is configured but there is no docker group: install Docker, then run this again" >&2
      fi
    fi
  elif [ "$member" = yes ]; then
    gpasswd -d airlock docker >/dev/null && airlock_groups_changed=yes \
      && airlock_say "removed user airlock from group docker (the docker driver is not configured)"
  fi
}

# True when systemd runs this system (not merely installed).
airlock_systemd_running() { [ -d /run/systemd/system ]; }

#!/usr/bin/env bash
# Builds Airlock's distribution from the class path the build put in target/airlock/lib:
#   airlock-VERSION-linux-x86_64.tar.gz  a directory with its own Java runtime (jlink), the launcher,
#                                        the default configuration, the systemd unit, install.sh, docs
#   airlock_DEBVERSION_amd64.deb         the same tree in /opt/airlock, config in /etc/airlock, the unit,
#                                        /usr/bin/airlock, and maintainer scripts that make the user and dirs
# The build's package phase runs it (install/pom.xml); run it by hand to repackage, e.g. with another
# --revision for an upgrade test.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: install/package.sh --version V [--revision R] [--lib DIR] [--out DIR] [--jdk DIR]
  --version V    the project's version (0.1.0-SNAPSHOT); the .deb's is V with '-SNAPSHOT' as '~SNAPSHOT'
                 and '.R' appended
  --revision R   the build's revision, digits (default: the UTC time, yyyymmddHHMMSS): a rebuilt package
                 with a higher revision is an upgrade
  --lib DIR      the jars (default: install/target/airlock/lib)
  --out DIR      where the artifacts go (default: install/target/dist)
  --jdk DIR      a JDK >= 21 whose jlink makes the runtime (default: $AIRLOCK_JDK, $JAVA_HOME, /usr/lib/jvm/*)
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
version="" revision="" lib="$here/target/airlock/lib" out="$here/target/dist" jdk=""
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version=$2; shift 2 ;;
    --revision) revision=$2; shift 2 ;;
    --lib) lib=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --jdk) jdk=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "package.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$version" ] || { echo "package.sh: --version is required" >&2; usage >&2; exit 2; }
[ -n "$revision" ] || revision=$(date -u +%Y%m%d%H%M%S)
[[ "$revision" =~ ^[0-9]+$ ]] || { echo "package.sh: --revision must be digits, got '$revision'" >&2; exit 2; }
compgen -G "$lib/*.jar" >/dev/null || { echo "package.sh: no jars in $lib (run the build's package phase first)" >&2; exit 2; }

feature_of() {  # the feature release of the JDK at $1, or nothing
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null
}
find_jdk() {
  local c f
  for c in "${AIRLOCK_JDK:-}" "${JAVA_HOME:-}" /usr/lib/jvm/*; do
    [ -n "$c" ] && [ -x "$c/bin/jlink" ] && [ -x "$c/bin/jdeps" ] || continue
    f=$(feature_of "$c")
    # jlink links from jmods/, or (JDK 24+, JEP 493) from the run-time image where the JDK was built
    # for it. Debian ships the jmods of its JDK 21 apart: openjdk-21-jmods.
    [ -n "$f" ] && [ "$f" -ge 21 ] && { [ -f "$c/jmods/java.base.jmod" ] || [ "$f" -ge 24 ]; } \
      && { printf '%s\n' "$c"; return 0; }
  done
  return 1
}
[ -n "$jdk" ] || jdk=$(find_jdk) || {
  echo "package.sh: needs a JDK >= 21 with jlink and its jmods (Debian: openjdk-21-jmods), or a JDK >= 24;" \
    "looked at \$AIRLOCK_JDK, \$JAVA_HOME, /usr/lib/jvm/*" >&2; exit 2; }
feature=$(feature_of "$jdk")

name="airlock-$version-linux-x86_64"
deb_version="${version/-SNAPSHOT/~SNAPSHOT}.$revision"
work="$out/work"
rm -rf "$work" && mkdir -p "$work" "$out"
rm -f "$out"/airlock-*-linux-x86_64.tar.gz "$out"/airlock_*_amd64.deb  # one version in --out at a time
tree="$work/$name"
mkdir -p "$tree"/{bin,lib,etc,systemd,docs,libexec}

# The runtime: the modules the jars use, by jdeps, and the ones they reach only by reflection or
# service lookup, which jdeps cannot see (EC keys on JDK 21, where they live outside java.base; DNS).
modules=$("$jdk/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release "$feature" \
  --class-path "$lib/*" "$lib"/*.jar 2>/dev/null | grep -E '^[a-z][a-z0-9.]*(,[a-z][a-z0-9.]*)*$')  # jdeps warns on stdout
for extra in jdk.crypto.ec jdk.naming.dns jdk.zipfs; do
  "$jdk/bin/java" --list-modules | grep -q "^$extra@" && modules="$modules,$extra"
done
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
  --compress zip-6 --output "$tree/runtime"
# A class-data-sharing archive for the JDK's own classes: the runtime starts faster (doctor, enroll).
"$tree/runtime/bin/java" -Xshare:dump -XX:+UseSerialGC >/dev/null 2>&1 || true

cp "$lib"/*.jar "$tree/lib/"
# JVM options for this runtime's release, as ./airlock passes them (see there).
# A small initial heap: an idle agent then holds ~190 MB resident instead of ~280 MB on a 24 GiB host
# (the JVM otherwise starts with 1/64 of RAM); the heap still grows to a quarter of RAM when needed.
jvm_opts="-XX:+UseSerialGC -Xms16m"
[ "$feature" -ge 22 ] && jvm_opts="$jvm_opts --enable-native-access=ALL-UNNAMED"
[ "$feature" -ge 23 ] && jvm_opts="$jvm_opts --sun-misc-unsafe-memory-access=allow"
# The application's class-data archive (AppCDS): the classes the short commands load, parsed and
# verified here once instead of at every start. Made by this runtime, which is the only one that can
# use it; the JVM accepts the tree moved elsewhere (/opt/airlock, an install.sh --prefix) as a whole.
"$tree/runtime/bin/java" $jvm_opts -Xlog:cds=off -Xlog:cds+dynamic=off -XX:ArchiveClassesAtExit="$tree/lib/airlock.jsa" \
  -cp "$tree/lib/*" io.airlock.launcher.CdsTraining >/dev/null 2>&1 \
  || echo "package.sh: no class-data archive (the training run failed); commands start slower" >&2
sed "s|@JVM_OPTS@|$jvm_opts|" "$here/dist/bin/airlock" > "$tree/bin/airlock"
chmod 0755 "$tree/bin/airlock"
install -m 0644 "$here/dist/etc/airlock.yaml" "$tree/etc/airlock.yaml"
install -m 0644 "$here/dist/systemd/airlock.service" "$tree/systemd/airlock.service"
install -m 0755 "$here/dist/install.sh" "$tree/install.sh"
install -m 0644 "$here/dist/libexec/system-setup.sh" "$tree/libexec/system-setup.sh"
install -m 0644 "$repo"/docs/*.md "$tree/docs/"
install -m 0644 "$repo/README.md" "$tree/docs/README.md"
printf '%s\n' "$version" > "$tree/VERSION"
printf '%s\n' "$deb_version" > "$tree/PACKAGE_VERSION"

# Files in the archives belong to root and carry the build's time, whoever built them.
tar --owner=0 --group=0 --numeric-owner -C "$work" -czf "$out/$name.tar.gz" "$name"

# The .deb: the same tree under /opt/airlock.
pkg="$work/deb"
mkdir -p "$pkg/DEBIAN" "$pkg/opt" "$pkg/etc/airlock" "$pkg/lib/systemd/system" "$pkg/usr/bin"
cp -a "$tree" "$pkg/opt/airlock"
install -m 0640 "$here/dist/etc/airlock.yaml" "$pkg/etc/airlock/airlock.yaml"
install -m 0644 "$here/dist/systemd/airlock.service" "$pkg/lib/systemd/system/airlock.service"
ln -s /opt/airlock/bin/airlock "$pkg/usr/bin/airlock"
for script in postinst prerm postrm; do
  install -m 0755 "$here/dist/debian/$script" "$pkg/DEBIAN/$script"
done
echo /etc/airlock/airlock.yaml > "$pkg/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s|@VERSION@|$deb_version|" -e "s|@SIZE@|$size|" "$here/dist/debian/control" > "$pkg/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip --build "$pkg" "$out/airlock_${deb_version}_amd64.deb" >/dev/null

rm -rf "$work"
echo "package.sh: $out/$name.tar.gz, $out/airlock_${deb_version}_amd64.deb (runtime: JDK $feature, modules $modules)"

#!/usr/bin/env bash
# CI step (run as root, before `npm run cluster -- up`): the packages the local Galera cluster
# needs beyond MariaDB itself. galera-4, rsync and socat ship with Debian's MariaDB 10.11 here;
# haproxy and mariadb-backup do not. Installing haproxy enables (does not start) its system
# service; the cluster runs its own haproxy with its own config and pid file.
set -euo pipefail
missing=()
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v mariadb-backup >/dev/null 2>&1 || missing+=(mariadb-backup)
[ -e /usr/lib/galera/libgalera_smm.so ] || missing+=(galera-4)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "cluster install: apt-get install -y ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null; }
fi
echo "cluster install: haproxy $(haproxy -v | head -1 | awk '{print $3}'), galera $(ls /usr/lib/galera/libgalera_smm.so)"

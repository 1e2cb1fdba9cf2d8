#!/bin/sh
# pg_ctl for the tests' throwaway PostgreSQL (pytest-postgresql's postgresql_proc), also as root.
# PostgreSQL refuses to run as root, so as root this runs the real pg_ctl as an unprivileged user
# ($PG_CTL_USER, default `postgres`, created if missing), gives it the data directory and log file
# it is handed, and lets it traverse (not read) the root-owned temp directories above them.
set -eu
real=${PG_CTL_REAL:-}
if [ -z "$real" ]; then
  real=$(command -v pg_ctl 2>/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1)
fi
[ -n "$real" ] || { echo "pg_ctl not found: install PostgreSQL (apt-get install postgresql)" >&2; exit 127; }
[ "$(id -u)" = 0 ] || exec "$real" "$@"

user=${PG_CTL_USER:-postgres}
id -u "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"

reach() {  # o+x on every directory above $1, so $user can get to it
  dir=$(dirname "$1")
  while [ "$dir" != "/" ]; do chmod o+x "$dir"; dir=$(dirname "$dir"); done
}

prev=""
for arg in "$@"; do
  case "$prev" in
    -D|--pgdata) mkdir -p "$arg"; chown "$user" "$arg"; chmod 700 "$arg"; reach "$arg" ;;
    -l) touch "$arg"; chown "$user" "$arg"; reach "$arg" ;;
  esac
  prev=$arg
done
exec runuser -u "$user" -- "$real" "$@"

# shellcheck shell=bash
# Sourced by .ci/run (or by hand: `source .ci/postgres.sh`): a throwaway
# PostgreSQL cluster on 127.0.0.1 for the SQL tests, and its URL in
# NEARIQ_SMS_TEST_POSTGRES_URL.
#
# Installs Debian's `postgresql` when no server binaries are found. Works as
# root (the cluster runs as the `postgres` OS user) and as an ordinary user.
# Idempotent-ish: a cluster this script already started on the port is reused.
# The cluster is stopped when the sourcing shell exits, unless it was reused
# or NEARIQ_SMS_PG_KEEP=1 (handy while developing).

_nq_pg_port="${NEARIQ_SMS_PG_PORT:-54329}"
_nq_pg_db="neariq_sms_test"
_nq_pg_dir="${NEARIQ_SMS_PG_DIR:-${TMPDIR:-/tmp}/neariq-sms-pg-${_nq_pg_port}}"

_nq_pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

if ! _nq_pg_bin=$(_nq_pg_bindir); then
  echo "postgres.sh: installing Debian's postgresql" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "postgres.sh: PostgreSQL is missing and installing it needs root" >&2
    return 1 2>/dev/null || exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  # Debian's package creates and starts a cluster of its own; we do not use it.
  _nq_pg_bin=$(_nq_pg_bindir)
fi

if [ "$(id -u)" -eq 0 ]; then
  _nq_pg_as() { runuser -u postgres -- "$@"; }
  _nq_pg_owner=postgres
else
  _nq_pg_as() { "$@"; }
  _nq_pg_owner=$(id -un)
fi

_nq_pg_started=0
if ! "$_nq_pg_bin/pg_isready" -q -h 127.0.0.1 -p "$_nq_pg_port"; then
  if [ ! -f "$_nq_pg_dir/data/PG_VERSION" ]; then
    rm -rf "$_nq_pg_dir"
    mkdir -p "$_nq_pg_dir"
    chown "$_nq_pg_owner" "$_nq_pg_dir"
    # C collation: ORDER BY on text agrees with Python's str ordering.
    _nq_pg_as "$_nq_pg_bin/initdb" -D "$_nq_pg_dir/data" -U postgres -A trust \
      -E UTF8 --locale=C >"$_nq_pg_dir/initdb.log" 2>&1 \
      || { cat "$_nq_pg_dir/initdb.log" >&2; return 1 2>/dev/null || exit 1; }
  fi
  # fsync off: a throwaway cluster whose durability nobody needs, and the
  # concurrency tests commit a lot.
  _nq_pg_as "$_nq_pg_bin/pg_ctl" -D "$_nq_pg_dir/data" -l "$_nq_pg_dir/server.log" -w \
    -o "-h 127.0.0.1 -p $_nq_pg_port -k $_nq_pg_dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null \
    || { cat "$_nq_pg_dir/server.log" >&2; return 1 2>/dev/null || exit 1; }
  _nq_pg_started=1
fi

if ! _nq_pg_as "$_nq_pg_bin/psql" -h 127.0.0.1 -p "$_nq_pg_port" -U postgres -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname = '$_nq_pg_db'" | grep -q 1; then
  _nq_pg_as "$_nq_pg_bin/createdb" -h 127.0.0.1 -p "$_nq_pg_port" -U postgres \
    -T template0 -E UTF8 --locale=C "$_nq_pg_db"
fi

export NEARIQ_SMS_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:${_nq_pg_port}/${_nq_pg_db}"
echo "postgres.sh: PostgreSQL ready at ${NEARIQ_SMS_TEST_POSTGRES_URL}" >&2

if [ "$_nq_pg_started" -eq 1 ] && [ "${NEARIQ_SMS_PG_KEEP:-0}" != "1" ]; then
  # shellcheck disable=SC2064  # expand now: the values are fixed for this cluster
  trap "runuser -u $_nq_pg_owner -- '$_nq_pg_bin/pg_ctl' -D '$_nq_pg_dir/data' -m fast stop >/dev/null 2>&1 || '$_nq_pg_bin/pg_ctl' -D '$_nq_pg_dir/data' -m fast stop >/dev/null 2>&1 || true" EXIT
fi

# shellcheck shell=bash
# Sourced by .ci/run and scripts/check-ci-postgres: the PostgreSQL server and the database the test suite uses.

as_postgres() {  # a command as the database superuser's system account, from a folder it can read
  if [ "$(id -un)" = postgres ]; then
    (cd / && "$@")
  elif [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    echo "creating the test database needs root (or the postgres account): run as root, or set" \
      "CARNET_TEST_POSTGRES_URL to a database the tests may use" >&2
    return 1
  fi
}

# A Debian cluster running, its port exported as PGPORT: the one on 5432, else the first listed (a cluster made
# while 5432 was taken listens on another), started when it is down; made when there is none.
start_local_postgresql() {
  local cluster
  cluster="$(_debian_cluster)"
  if [ -z "$cluster" ]; then
    echo "no PostgreSQL cluster: creating one" >&2
    pg_createcluster "$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)" main \
      >/dev/null || return 1
    cluster="$(_debian_cluster)"
  fi
  local version name port
  read -r version name port <<<"$cluster"
  export PGPORT="$port"
  pg_isready -h 127.0.0.1 -q 2>/dev/null && return 0
  pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start || true
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -q && return 0
    sleep 1
  done
  echo "PostgreSQL ($version/$name) is not reachable on 127.0.0.1:$port: see /var/log/postgresql/" >&2
  return 1
}

_debian_cluster() {  # "VERSION NAME PORT" of the cluster to use, or nothing
  pg_lsclusters --no-header | awk '
    $3 == 5432 { print $1, $2, $3; found = 1; exit }
    NR == 1 { first = $1 " " $2 " " $3 }
    END { if (!found && first) print first }'
}

# The role carnet (password carnet, CREATEDB: the suite creates, clones and drops its databases) and its database
# carnet_test, made as the superuser through the local socket (peer authentication, Debian's default for
# postgres; PGPASSWORD when the socket asks for one), then signed in to as the suite does: over TCP on
# 127.0.0.1 with the password, which trust, scram-sha-256 and md5 in pg_hba.conf all accept. PGHOST (the
# socket's folder) and PGPORT choose the server. Exports CARNET_TEST_POSTGRES_URL; fails, saying why, when it
# cannot.
prepare_test_database() {
  local port="${PGPORT:-5432}" error
  if ! error="$(as_postgres psql -X -q -w -v ON_ERROR_STOP=1 -d postgres 2>&1 <<'SQL'
SET password_encryption = 'scram-sha-256';
SELECT 'CREATE ROLE carnet LOGIN CREATEDB' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'carnet')
\gexec
ALTER ROLE carnet LOGIN CREATEDB PASSWORD 'carnet';
SELECT 'CREATE DATABASE carnet_test OWNER carnet'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'carnet_test')
\gexec
SQL
)"; then
    echo "cannot create the test role and database as postgres through the local socket (port $port):" >&2
    echo "  $error" >&2
    echo "set PGPASSWORD for postgres, or CARNET_TEST_POSTGRES_URL to a database the tests may use" \
      "(its role needs CREATEDB)" >&2
    return 1
  fi
  if ! error="$(PGPASSWORD=carnet PGHOST=127.0.0.1 psql -X -q -w -p "$port" -U carnet -d carnet_test \
    -c 'SELECT 1' 2>&1 >/dev/null)"; then
    echo "the role carnet cannot sign in with its password on 127.0.0.1:$port:" >&2
    echo "  $error" >&2
    echo "pg_hba.conf must accept a password there, e.g. 'host all carnet 127.0.0.1/32 scram-sha-256'" >&2
    return 1
  fi
  export CARNET_TEST_POSTGRES_URL="postgresql+psycopg://carnet:carnet@127.0.0.1:$port/carnet_test"
}

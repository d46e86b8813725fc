#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries are installed, for tests/postgres_fixture.py.
#
# Idempotent: does nothing when /usr/lib/postgresql/*/bin/postgres exists. Otherwise installs
# Debian's `postgresql` package without letting it create (and auto-start) its own "main" cluster
# on port 5432: the tests run their own throw-away server on a free port of 127.0.0.1.
# Run as root (as on CI), or as a user who may sudo.
set -euo pipefail

PG_LIB=${PG_LIB:-/usr/lib/postgresql}
CREATECLUSTER_CONF=${CREATECLUSTER_CONF:-/etc/postgresql-common/createcluster.conf}

server_bin_dir() {
    local found
    found=$(compgen -G "$PG_LIB/*/bin/postgres" | sort -V | tail -n 1) || true
    [ -n "$found" ] && dirname "$found"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        env DEBIAN_FRONTEND=noninteractive "$@"
    else
        sudo env DEBIAN_FRONTEND=noninteractive "$@"
    fi
}

if bin_dir=$(server_bin_dir); then
    echo "ensure-postgres: PostgreSQL server found in $bin_dir"
    exit 0
fi

echo "ensure-postgres: no PostgreSQL server in $PG_LIB/*/bin; installing Debian's postgresql package"
apt_install=(apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
as_root apt-get update -q
# postgresql-common first: its createcluster.conf decides whether the server package's
# postinst creates and starts a "main" cluster. We want none.
as_root "${apt_install[@]}" --no-install-recommends postgresql-common
as_root sed -ri 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' \
    "$CREATECLUSTER_CONF"
as_root "${apt_install[@]}" postgresql

# Should a cluster have been created and started all the same, it is this install's: stop it by
# its own pg_ctlcluster and keep it from starting at boot.
if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h | while read -r version name _port status _rest; do
        case $status in
            online*)
                echo "ensure-postgres: stopping the package's cluster $version/$name"
                as_root pg_ctlcluster "$version" "$name" stop
                echo manual | as_root tee "/etc/postgresql/$version/$name/start.conf" >/dev/null ;;
        esac
    done
fi

if ! bin_dir=$(server_bin_dir); then
    echo "ensure-postgres: installed postgresql, but found no $PG_LIB/*/bin/postgres" >&2
    exit 1
fi
echo "ensure-postgres: PostgreSQL server installed in $bin_dir"

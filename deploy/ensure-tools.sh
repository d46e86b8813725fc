#!/usr/bin/env bash
# Debian packages the tests use besides PostgreSQL: promtool (package prometheus) to check the
# Prometheus rules, and Chromium to render the HTML report headless. Idempotent; installs only
# what is missing. The prometheus package's own service is stopped and disabled: tests run none.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && { echo "ensure-tools: promtool and chromium present"; exit 0; }

as_root() { if [ "$(id -u)" -eq 0 ]; then env DEBIAN_FRONTEND=noninteractive "$@"; else sudo env DEBIAN_FRONTEND=noninteractive "$@"; fi; }
echo "ensure-tools: installing ${missing[*]}"
as_root apt-get update -qq
# policy-rc.d 101: the package scripts may not start services (no prometheus server on :9090)
policy=/usr/sbin/policy-rc.d
created=0
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null; as_root chmod +x "$policy"; created=1; fi
as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" || { [ $created -eq 1 ] && as_root rm -f "$policy"; exit 1; }
[ $created -eq 1 ] && as_root rm -f "$policy"
exit 0

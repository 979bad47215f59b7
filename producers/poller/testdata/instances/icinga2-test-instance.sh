#!/usr/bin/env bash
# Start a throwaway Icinga 2 (Debian 12 package icinga2 2.13.x) for tests.
# Usage: icinga2-test-instance.sh start|stop [DIR]   (default DIR=${TMPDIR:-/tmp}/icinga2-test)
# Ports: ICINGA2_API_PORT (5665), ICINGA2_LIVESTATUS_PORT (6558), so parallel test runs do not collide.
# Copied from shared/reference/scripts with the ports made configurable.
# Needs: apt-get install -y --no-install-recommends icinga2 monitoring-plugins-basic curl openssl
set -euo pipefail
CMD=${1:-start}; D=${2:-${TMPDIR:-/tmp}/icinga2-test}
API_PORT=${ICINGA2_API_PORT:-5665}; LS_PORT=${ICINGA2_LIVESTATUS_PORT:-6558}
DEFS=( -DConfiguration.DataDir=$D/var/lib -DConfiguration.LogDir=$D/var/log
  -DConfiguration.CacheDir=$D/var/cache -DConfiguration.SpoolDir=$D/var/spool
  -DConfiguration.InitRunDir=$D/run -DConfiguration.PidPath=$D/run/icinga2.pid
  -DConfiguration.StatePath=$D/var/lib/icinga2.state -DConfiguration.ObjectsPath=$D/var/cache/icinga2.debug
  -DConfiguration.VarsPath=$D/var/cache/icinga2.vars -DConfiguration.ModAttrPath=$D/var/lib/modified-attributes.conf
  -DConfiguration.RunAsUser=$(id -un) -DConfiguration.RunAsGroup=$(id -gn) )
if [ "$CMD" = stop ]; then
  [ -f "$D/daemon.pid" ] || exit 0; pid=$(cat "$D/daemon.pid"); kill $pid 2>/dev/null || true
  for i in $(seq 1 100); do kill -0 $pid 2>/dev/null || exit 0; sleep 0.1; done   # umbrella process exits last
  exit 0
fi
mkdir -p $D/etc $D/var/lib/certs $D/var/log/compat/archives $D/var/cache $D/var/spool $D/run
# --- TLS: own CA + node cert (CN must equal NodeName); openssl is ~30x faster than 'icinga2 pki' (RSA-4096)
if [ ! -f $D/var/lib/certs/localhost.crt ]; then
  ( cd $D/var/lib/certs
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Icinga CA" -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout localhost.key -out localhost.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > ext.cnf
    openssl x509 -req -in localhost.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile ext.cnf -out localhost.crt 2>/dev/null )
fi
SRC_CONF=${ICINGA2_TEST_CONF:-$(dirname "$0")/icinga2-test.conf}
sed -e "s/bind_port = 5665/bind_port = $API_PORT/" -e "s/bind_port = \"6558\"/bind_port = \"$LS_PORT\"/" "$SRC_CONF" > $D/etc/icinga2.conf
icinga2 daemon -C -c $D/etc/icinga2.conf "${DEFS[@]}" > $D/validate.log 2>&1 || { tail -20 $D/validate.log; exit 1; }
icinga2 daemon -c $D/etc/icinga2.conf "${DEFS[@]}" > $D/daemon.out 2>&1 &
echo $! > $D/daemon.pid
for i in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert $D/var/lib/certs/ca.crt -u poller:pollerpw https://localhost:$API_PORT/v1/status || true)
  [ "$code" = 200 ] && { echo "icinga2 API ready (pid $(cat $D/daemon.pid))"; exit 0; }
  sleep 0.1
done
echo "icinga2 did not come up"; tail -30 $D/daemon.out; exit 1

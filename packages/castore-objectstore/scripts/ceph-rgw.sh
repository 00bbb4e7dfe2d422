#!/usr/bin/env bash
# A throwaway, real S3 server for tests and benchmarks: a Ceph RADOS Gateway on 127.0.0.1 over a
# one-host RADOS (1 monitor, 1 OSD on the in-memory memstore, no mgr, no authentication), all
# inside one scratch directory, all as root. Debian packages: radosgw ceph-mon ceph-osd.
#
#   ceph-rgw.sh install                        install the packages with apt-get if they are missing
#   ceph-rgw.sh start DIR RGW_PORT MON_PORT    bring up mon, osd and gateway; user TESTKEY/TESTSECRET
#   ceph-rgw.sh stop-rgw DIR                   kill the gateway only (RADOS keeps the objects)
#   ceph-rgw.sh start-rgw DIR                  start the gateway again and wait until it answers
#   ceph-rgw.sh stop DIR                       kill everything started in DIR and remove DIR
#
# Why each setting is there:
# - `ms mon client mode = crc`: radosgw defaults to "secure", which cannot work with `auth none`
#   (it would retry silently for 300 s); every ceph command also runs under `timeout` for that reason.
# - pg num 8 and `mon max pg per osd`: the ~7 pools the gateway creates must fit on one OSD.
# - memstore keeps objects in RAM (allocated as written); `memstore device bytes` (8 GiB) is only
#   the size it reports, as the full checks are off (below). A small thread pool and one messenger
#   thread keep the gateway modest on a shared 2-core machine.
# - `rgw gc obj min wait = 0`, `rgw gc processor period = 5`: deleting an object larger than its
#   4 MiB head only queues its tail for the gateway's garbage collector, which by default waits two
#   hours and runs hourly, so the benchmark's deleted 1 GiB objects stayed in the OSD's memory. Now
#   they go within seconds.
# - The full ratios far above 1 (the monitor divides ratios over 1 by 100: 1e10): memstore's count
#   of used bytes can drift below zero after many deletes. The OSD then computes its fullness from
#   an unsigned underflow (total - available with available > total), about 2e9, logs "full status
#   failsafe engaged, dropping updates, now -2147483648% full" and blocks every write and delete:
#   the benchmark hung on this twice with at most a few GiB stored. This cluster is throwaway RAM
#   whose callers delete what they write, so it has no use for the full checks.
# - The memstore OSD ignores SIGTERM for seconds: the cluster is throwaway, so stop uses SIGKILL.
set -euo pipefail

cmd=${1:?usage: ceph-rgw.sh install|start|stop|stop-rgw|start-rgw ...}

wait_http() {
  local port=$1
  for _ in $(seq 240); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port/"; then return 0; fi
    sleep 0.25
  done
  echo "ceph-rgw: the gateway did not answer on 127.0.0.1:$port within 60 s" >&2
  return 1
}

start_rgw() {
  local dir=$1
  (cd "$dir" && timeout 60 radosgw -c ceph.conf -n client.rgw.x) # daemonizes once it runs
  wait_http "$(cat "$dir/rgw.port")"
}

kill_pidfile() {
  local file=$1
  [[ -f $file ]] || return 0
  local pid
  pid=$(cat "$file")
  kill -9 "$pid" 2>/dev/null || true
  # Wait until it is gone, so a restart can bind the same port.
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  rm -f "$file"
}

case $cmd in
install)
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null; then exit 0; fi
  export DEBIAN_FRONTEND=noninteractive
  # Another package's test setup may be installing at the same moment (the browser tests install
  # chromium): wait for the dpkg lock instead of failing on it.
  lock=(-o DPkg::Lock::Timeout=300)
  apt-get "${lock[@]}" install -y --no-install-recommends radosgw ceph-mon ceph-osd uuid-runtime curl >/dev/null ||
    { apt-get "${lock[@]}" update >/dev/null &&
      apt-get "${lock[@]}" install -y --no-install-recommends radosgw ceph-mon ceph-osd uuid-runtime curl >/dev/null; }
  ;;
start)
  dir=${2:?start needs DIR}; port=${3:?start needs RGW_PORT}; monport=${4:?start needs MON_PORT}
  rm -rf "$dir"; mkdir -p "$dir"/{run,log,mon.a,osd.0,rgw}; cd "$dir"
  echo "$port" >rgw.port
  fsid=$(uuidgen)
  cat >ceph.conf <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$monport
auth cluster required = none
auth service required = none
auth client required = none
ms bind ipv6 = false
public addr = 127.0.0.1
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
mon allow pool size one = true
mon osd nearfull ratio = 1000000000000
mon osd backfillfull ratio = 1000000000000
mon osd full ratio = 1000000000000
osd failsafe full ratio = 1000000000000
osd crush chooseleaf type = 0
ms async op threads = 1
run dir = $dir/run
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
admin socket = $dir/run/\$name.asok
keyring = $dir/keyring
[mon.a]
mon data = $dir/mon.a
[osd]
osd data = $dir/osd.\$id
osd objectstore = memstore
memstore device bytes = 8589934592
[client.rgw.x]
ms mon client mode = crc
rgw frontends = beast endpoint=127.0.0.1:$port
rgw thread pool size = 32
rgw data = $dir/rgw
rgw gc obj min wait = 0
rgw gc processor period = 5
EOF
  ceph-authtool --create-keyring keyring --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --addv a "[v2:127.0.0.1:$monport]" --fsid "$fsid" monmap >/dev/null
  ceph-mon -c ceph.conf --mkfs -i a --monmap monmap --keyring keyring
  ceph-mon -c ceph.conf -i a
  osd_uuid=$(uuidgen)
  id=$(timeout 30 ceph -c ceph.conf osd new "$osd_uuid")
  ceph-osd -c ceph.conf -i "$id" --mkfs --osd-uuid "$osd_uuid" 2>/dev/null
  ceph-osd -c ceph.conf -i "$id" 2>/dev/null
  start_rgw "$dir"
  timeout 60 radosgw-admin -c ceph.conf user create --uid=test --display-name=test \
    --access-key=TESTKEY --secret=TESTSECRET >/dev/null
  ;;
stop-rgw)
  dir=${2:?stop-rgw needs DIR}
  kill_pidfile "$dir/run/client.rgw.x.pid"
  ;;
start-rgw)
  dir=${2:?start-rgw needs DIR}
  start_rgw "$dir"
  ;;
stop)
  dir=${2:?stop needs DIR}
  [[ -d $dir/run ]] || exit 0
  for file in "$dir"/run/*.pid; do [[ -e $file ]] && kill_pidfile "$file"; done
  rm -rf "$dir"
  ;;
*)
  echo "ceph-rgw: unknown command $cmd" >&2
  exit 2
  ;;
esac

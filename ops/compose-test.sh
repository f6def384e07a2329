#!/usr/bin/env bash
# The docker-compose topology, end to end: builds the images (no registry:
# ops/docker/build.sh), brings docker-compose.yml up, waits until every
# BGP session is Established and the clients and borders hold the routes
# they should, upgrades the reflector members one after another as
# containers are upgraded (each drained by SIGTERM, its container
# recreated) while every client's route is sampled inside its container
# (not one sample may miss it), stops the reflector member that leads,
# checks that the
# others carry on (a new leader; every session back on a surviving member;
# the routes still there), then tears everything down, volumes included.
#
# Skipped, with a message, where no Docker engine runs. CI runs it.
#   ops/compose-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
    echo "compose-test: SKIPPED: no Docker engine here (docker info fails)"
    exit 0
fi
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
else
    echo "compose-test: SKIPPED: neither 'docker compose' nor docker-compose is installed"
    exit 0
fi
project=reflex-compose-test
dc() { "${compose[@]}" -p "$project" "$@"; }
export REFLEX_BASE=${REFLEX_BASE:-reflex/debian:bookworm}
started=$(date +%s)

down() { dc down -v --remove-orphans >/dev/null 2>&1 || true; }
report() {
    echo "compose-test: FAILED: $1" >&2
    for s in certs rr1 rr2 rr3 border1 border2 bird frr rr-init; do
        echo "--- $s" >&2
        dc logs --tail 15 "$s" >&2 2>/dev/null || true
    done
    exit 1
}
trap down EXIT

REFLEX_PROFILE=${REFLEX_PROFILE:-release} bash ops/docker/build.sh
down
dc up -d
echo "compose-test: topology up"

# wait_for SECONDS WHAT COMMAND...: runs COMMAND every second until it
# succeeds, or fails the test.
wait_for() {
    local secs=$1 what=$2
    shift 2
    for _ in $(seq 1 "$secs"); do
        if "$@" >/dev/null 2>&1; then
            echo "compose-test: $what"
            return 0
        fi
        sleep 1
    done
    report "$what: not within ${secs}s"
}

ctl() { dc exec -T "$1" reflex ctl --json "${@:2}"; }
# The neighbours Established on the reflector members given, in total.
established() {
    local n=0 m c
    for m in "$@"; do
        c=$(ctl "$m" neighbors | python3 -c 'import json,sys; print(sum(1 for n in json.load(sys.stdin) if n["state"] == "Established"))') || c=0
        n=$((n + c))
    done
    echo "$n"
}
all_established() { [[ $(established "$@") == 4 ]]; }
bird_has() { dc exec -T bird birdc -s /run/bird/bird.ctl show route "$1" | grep -q "^$1\|^ *$1\|$1 "; }
frr_has() { dc exec -T frr vtysh --vty_socket /run/frr -d bgpd -c "show bgp ipv4 unicast $1 json" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("paths") else 1)'; }
border_has() { [[ -n $(dc exec -T "$1" ip route show "$2" proto 186) ]]; }
routes_everywhere() {
    bird_has 198.19.32.0/24 && frr_has 198.19.31.0/24 &&
        border_has border1 198.19.31.0/24 && border_has border1 198.19.32.0/24 &&
        border_has border2 198.19.31.0/24 && border_has border2 198.19.32.0/24
}
same_digest() {
    local d
    d=$(for m in "$@"; do ctl "$m" cluster | python3 -c 'import json,sys; print(json.load(sys.stdin)["rib_digest"] or "none")'; done | sort -u)
    [[ $(wc -l <<<"$d") == 1 && $d != none ]]
}
leader_of() { ctl "$1" cluster | python3 -c 'import json,sys; l=json.load(sys.stdin)["leader"]; sys.exit(1) if l is None else print(l)'; }

wait_for 120 "the reflector cluster has a leader" leader_of rr1
wait_for 120 "every session Established (4 clients, each on one member)" all_established rr1 rr2 rr3
wait_for 60 "BIRD, FRR and both borders' kernels hold the routes" routes_everywhere
wait_for 30 "every member has the same RIB digest" same_digest rr1 rr2 rr3

# A rolling upgrade as containers do one (issue 17 §5: sockets cannot pass
# between images): each member in turn is drained (SIGTERM: its sessions
# move make-before-break to the others, then it exits) and its container
# recreated from the image, with its volume. Each client's hold of the
# route it learns through the reflectors is sampled inside its container,
# every 20 ms plus the query's time, through all of it: the lowest sample
# must be 1 (held), not once 0.
# sample SERVICE COMMAND: starts the sampler (one line per sample: the
# time and what COMMAND printed).
sample() {
    dc exec -T -d "$1" sh -c "rm -f /tmp/samples /tmp/stop-sampling
        while [ ! -e /tmp/stop-sampling ]; do
            n=\$($2)
            echo \"\$(date +%s.%N) \$n\" >>/tmp/samples
            sleep 0.02
        done"
}
samplers=(
    "bird|birdc -s /run/bird/bird.ctl show route 198.19.32.0/24 | grep -c '^198.19.32.0/24'"
    "frr|vtysh --vty_socket /run/frr -d bgpd -c 'show bgp ipv4 unicast 198.19.31.0/24' | grep -c 'BGP routing table entry'"
    "border1|ip route show 198.19.31.0/24 proto 186 | grep -c ."
    "border2|ip route show 198.19.32.0/24 proto 186 | grep -c ."
)
for s in "${samplers[@]}"; do sample "${s%%|*}" "${s#*|}"; done
sleep 1
rolling_started=$(date +%s)
for m in rr1 rr2 rr3; do
    t0=$(date +%s.%N)
    dc stop -t 75 "$m" >/dev/null
    t1=$(date +%s.%N)
    echo "compose-test: rolling upgrade: $m drained and stopped in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s"
    # A drain that ran into its bound (60 s; seen twice, cause not yet
    # found): what the members logged of it, before the container goes.
    if python3 -c "import sys; sys.exit(0 if $t1 - $t0 > 30 else 1)"; then
        for s in "$m" rr1 rr2 rr3; do
            echo "--- $s (slow drain of $m)" >&2
            dc logs --no-color "$s" 2>/dev/null | grep -v " DEBUG " | grep -v "openraft" | tail -n 80 >&2 || true
        done
    fi
    dc up -d --no-deps --force-recreate "$m" >/dev/null
    wait_for 120 "rolling upgrade: $m recreated, back in the cluster" leader_of "$m"
    wait_for 120 "rolling upgrade: every session Established (4)" all_established rr1 rr2 rr3
    wait_for 60 "rolling upgrade: the three members have the same RIB digest" same_digest rr1 rr2 rr3
done
sleep 1
failed=""
for s in "${samplers[@]}"; do
    svc=${s%%|*}
    dc exec -T "$svc" touch /tmp/stop-sampling
    sleep 0.3
    line=$(dc exec -T "$svc" cat /tmp/samples | python3 -c '
import sys
rows = [l.split() for l in sys.stdin if len(l.split()) == 2]
t = [float(r[0]) for r in rows]
v = [int(r[1]) for r in rows]
gaps = sorted(b - a for a, b in zip(t, t[1:])) or [0.0]
below = sum(b - a for a, b, x in zip(t, t[1:], v) if x < 1)
print(f"{min(v) if v else -1} {len(v)} {t[-1] - t[0] if t else 0:.0f} {gaps[len(gaps) // 2] * 1000:.0f} {gaps[-1] * 1000:.0f} {below:.1f}")
')
    read -r lowest n secs median_ms max_ms below <<<"$line"
    echo "compose-test: rolling upgrade: $svc: lowest $lowest of 1 route, $n samples over ${secs} s (every ${median_ms} ms median, ${max_ms} ms at most), ${below} s without it"
    if [[ $lowest != 1 ]]; then failed+=" $svc lost its route"; fi
    if (( max_ms > 1000 )); then failed+=" $svc's sampler stalled ${max_ms} ms"; fi
done
[[ -z $failed ]] || report "rolling upgrade:$failed"
echo "compose-test: rolling upgrade of the three members in $(($(date +%s) - rolling_started)) s: no client lost its route"
# How often a moved session's ROUTE-REFRESH overtook its PeerUp on the
# other side (answered after the table; once lost, which held a drain to
# its 60 s bound).
early=$(for s in rr1 rr2 rr3 border1 border2; do dc logs --no-color "$s" 2>/dev/null; done | grep -c "before the session's PeerUp applied" || true)
echo "compose-test: rolling upgrade: ROUTE-REFRESH requests that came before their session's PeerUp: $early"

leader=$(leader_of rr1)
survivors=()
for i in 1 2 3; do [[ $i == "$leader" ]] || survivors+=("rr$i"); done
echo "compose-test: stopping rr$leader (the leader)"
dc stop -t 5 "rr$leader" >/dev/null
new_leader() { local l; l=$(leader_of "${survivors[0]}") && [[ $l != "$leader" ]]; }
wait_for 60 "the others elected a new leader" new_leader
wait_for 120 "every session Established again on the surviving members" all_established "${survivors[@]}"
wait_for 60 "the routes are still everywhere" routes_everywhere
wait_for 30 "the surviving members have the same RIB digest" same_digest "${survivors[@]}"

echo "compose-test: passed in $(($(date +%s) - started))s"

#!/bin/sh
# Makes the three reflector members one cluster, once: asks member 1 until
# the cluster has a leader (a restarted topology already has one).
set -u
raft=198.18.100.11:11179
# The operator's certificate, from the certs service.
export REFLEX_CLUSTER_CERTS=/etc/reflex/certs
members="--member 1=198.18.100.11:11179 --member 2=198.18.100.12:11179 --member 3=198.18.100.13:11179"
for _ in $(seq 1 120); do
    if reflex cluster status --raft "$raft" 2>/dev/null | grep -Eq '"leader": ?[0-9]'; then
        echo "cluster ready:"
        reflex cluster status --raft "$raft"
        exit 0
    fi
    # shellcheck disable=SC2086
    reflex cluster init --raft "$raft" $members >/dev/null 2>&1 || true
    sleep 1
done
echo "the reflector cluster did not form" >&2
exit 1

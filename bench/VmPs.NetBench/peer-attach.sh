#!/bin/bash
# The peer of VmPs's network attachment: what an admin script does for one VM with one published
# port, with iproute2 and nft, then tears it down again. Runs inside the benchmark's namespace.
# Arguments: TAP BRIDGE VM_ADDRESS
set -euo pipefail
tap=$1 bridge=$2 address=$3

ip tuntap add dev "$tap" mode tap
ip link set dev "$tap" master "$bridge" mtu 1500 up
for chain in pre out; do
    nft add rule inet peer "$chain" fib daddr type local tcp dport 18080 dnat ip to "$address:80" comment "\"peer:$tap\""
done

for chain in pre out; do
    handle=$(nft -a list chain inet peer "$chain" | sed -n "s/.*comment \"peer:$tap\" # handle \([0-9]*\)$/\1/p")
    nft delete rule inet peer "$chain" handle "$handle"
done
ip link del "$tap"

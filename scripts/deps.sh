#!/usr/bin/env bash
# Install the Debian packages ferry needs to build, test and run its demo
# (scripts/deps.sh bench: also what make bench needs).
# Idempotent: when everything is present it only queries dpkg and exits.
set -euo pipefail

PACKAGES=(
	# build
	gcc libc6-dev make pkg-config
	libmnl-dev libcmocka-dev libssl-dev libsodium-dev liblz4-dev libseccomp-dev
	# overlay mode: etcd's JSON gateway over libcurl, JSON with jansson
	libcurl4-openssl-dev libjansson-dev
	# fuzzing (libFuzzer comes with clang's runtime)
	clang libclang-rt-14-dev
	# tests and demo: namespaces, ping, traffic, a real WireGuard peer and its tools
	iproute2 iputils-ping procps iperf3 netcat-openbsd
	# the TCP transport test blocks UDP with nftables
	nftables
	# path MTU test: the MSS a SYN carries across the tunnel
	tcpdump
	wireguard-go wireguard-tools
	# overlay mode: a real etcd, the CNI plugins ferry's plugin delegates to
	# (the bridge plugin masquerades with iptables), jq to read JSON in tests
	etcd-server etcd-client containernetworking-plugins iptables jq
)

# make bench also compares with OpenVPN (and reads iperf3's JSON with jq);
# bench/profile.sh uses perf.
if [ "${1:-}" = bench ]; then
	PACKAGES+=(openvpn openssl jq linux-perf)
fi

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run 'make deps' as root (or install them with apt-get)" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"

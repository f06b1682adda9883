# overlaylib.sh - sourced after lib.sh and wglib.sh by the overlay tests
# (tests/net/9x-overlay*.t) and scripts/demo-overlay.sh: a real etcd in a
# namespace of its own on the test bridge, nodes running `ferry overlay`,
# and "containers" (namespaces) attached through the CNI plugin exactly as
# a container runtime does it.
#
#   ov_etcd_start            etcd (Debian's etcd-server) in namespace "etcd" at
#                            $OV_ETCD_IP:2379, data in $T_TMP/etcd; waits until healthy
#   ov_etcd_stop / ov_etcd_restart   kill it by PID / start it again on the same data
#   ovctl ARGS...            etcdctl (v3 API) against it, from its namespace
#   ov_config JSON           put the network configuration
#   ov_node VAR name ADDR    a host namespace on the bridge (wg_host)
#   ov_start NODE [ARGS...]  ferry overlay -f in node NODE, on interface $OV_IF_<NODE>;
#                            log $T_TMP/NODE.log, subnet file $T_TMP/NODE/subnet.env,
#                            key $T_TMP/NODE/key; waits (bounded) for the subnet file
#   ov_launch NODE [ARGS...]  the same without waiting
#   ov_stop NODE [SIG]       stop it (TERM), wait for it
#   ov_subnet NODE           the node's FLANNEL_SUBNET (gateway/len)
#   ov_container VAR NODE name [CONF]  a container namespace attached with CNI ADD
#                            (CONF: the network configuration); its address in OV_ADDR[name]
#   ov_cni NODE CMD CONTAINER-NS [CONF]  run the CNI plugin as a runtime does
#   ov_peers NODE            the node's peers' allowed-ips, sorted, one per line
#   ov_routes NODE           routes through its overlay device
# Everything started is killed by PID on exit (lib.sh's bg and trap).

OV_ETCD_IP=${OV_ETCD_IP:-192.0.2.250}
OV_ETCD_URL="http://$OV_ETCD_IP:2379"
OV_ETCD_NS=""
OV_ETCD_PID=""
OV_CNI_BIN="$T_TMP/cni-bin"
declare -A OV_NS=() OV_PID=() OV_IF=() OV_ADDR=() OV_CNS=()

mkdir -p "$OV_CNI_BIN"
ln -sf "$FERRY" "$OV_CNI_BIN/ferry"

ovctl() { nsx "$OV_ETCD_NS" env ETCDCTL_API=3 etcdctl --endpoints "$OV_ETCD_URL" --dial-timeout 2s --command-timeout 4s "$@"; }

ov_etcd_healthy() { ovctl endpoint health >/dev/null 2>&1; }

ov_etcd_run() {
	bg OV_ETCD_PID ip netns exec "$OV_ETCD_NS" etcd --name ov --data-dir "$T_TMP/etcd" \
		--listen-client-urls "$OV_ETCD_URL" --advertise-client-urls "$OV_ETCD_URL" \
		--listen-peer-urls "http://$OV_ETCD_IP:2380" --initial-advertise-peer-urls "http://$OV_ETCD_IP:2380" \
		--initial-cluster "ov=http://$OV_ETCD_IP:2380" >>"$T_TMP/etcd.log" 2>&1 3>&-
	wait_for 20 ov_etcd_healthy || {
		echo "etcd did not become healthy in 20 s"
		tail -n 15 "$T_TMP/etcd.log"
		return 1
	}
}

ov_etcd_start() {
	[ -z "$OV_ETCD_NS" ] && { wg_host OV_ETCD_NS etcd "$OV_ETCD_IP" || return 1; }
	ov_etcd_run
}

ov_etcd_stop() {
	[ -n "$OV_ETCD_PID" ] || return 1
	kill "$OV_ETCD_PID" 2>/dev/null
	timeout 10 tail --pid="$OV_ETCD_PID" -f /dev/null
	kill -9 "$OV_ETCD_PID" 2>/dev/null
	wait "$OV_ETCD_PID" 2>/dev/null
	t_forget "$OV_ETCD_PID"
	OV_ETCD_PID=""
}

ov_etcd_restart() { ov_etcd_run; }

ov_config() { ovctl put /coreos.com/network/config "$1" >/dev/null; }

ov_node() {
	local host
	wg_host host "$2" "$3" || return 1
	OV_NS[$2]=$host
	wg_ifname "OV_IF[$2]" "o$2"
	mkdir -p "$T_TMP/$2"
	printf -v "$1" '%s' "$host"
}

ov_subnet() { sed -n 's/^FLANNEL_SUBNET=//p' "$T_TMP/$1/subnet.env" 2>/dev/null; }

ov_launch() {
	local node=$1 pid
	shift
	WG_SOCKS+=("$WG_RUN/${OV_IF[$node]}.sock")
	echo "=== $(date +%T.%N) ferry overlay $*" >>"$T_TMP/$node.log"
	bg pid ip netns exec "${OV_NS[$node]}" "$FERRY" overlay -f --etcd-endpoints "$OV_ETCD_URL" --iface eth0 \
		--interface "${OV_IF[$node]}" --subnet-file "$T_TMP/$node/subnet.env" --key-file "$T_TMP/$node/key" \
		"$@" >>"$T_TMP/$node.log" 2>&1 3>&-
	OV_PID[$node]=$pid
}

ov_start() {
	local node=$1
	ov_launch "$@"
	if ! wait_for 15 ov_ready "$node"; then
		echo "ferry overlay on $node: no subnet file and device within 15 s"
		tail -n 20 "$T_TMP/$node.log"
		return 1
	fi
}

# Ready: the subnet file written by this run (the process is alive) and the device up.
ov_ready() {
	kill -0 "${OV_PID[$1]}" 2>/dev/null && [ -s "$T_TMP/$1/subnet.env" ] &&
		ip -n "${OV_NS[$1]}" link show "${OV_IF[$1]}" up >/dev/null 2>&1
}

ov_stop() {
	local node=$1 pid=${OV_PID[$1]:-}
	[ -n "$pid" ] || return 1
	kill -s "${2:-TERM}" "$pid" 2>/dev/null
	timeout 10 tail --pid="$pid" -f /dev/null || kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	t_forget "$pid"
	unset "OV_PID[$node]"
}

# ov_cni NODE CMD CONTAINER-NS [CONF]: the plugin, as a runtime calls it.
ov_cni() {
	local node=$1 cmd=$2 cns=$3 conf=${4:-}
	[ -n "$conf" ] || conf=$(ov_cni_conf "$node")
	printf '%s' "$conf" | nsx "${OV_NS[$node]}" env CNI_COMMAND="$cmd" CNI_CONTAINERID="$cns" \
		CNI_NETNS="/var/run/netns/$cns" CNI_IFNAME=eth0 CNI_PATH="$OV_CNI_BIN:/usr/lib/cni" "$OV_CNI_BIN/ferry"
}

ov_cni_conf() {
	printf '{"cniVersion":"1.0.0","name":"ferrynet","type":"ferry","subnetFile":"%s","dataDir":"%s","ipam":{"dataDir":"%s"}}' \
		"$T_TMP/$1/subnet.env" "$T_TMP/$1/cni" "$T_TMP/$1/ipam"
}

ov_container() {
	local var=$1 node=$2 name=$3 conf=${4:-} cns out
	ns_new cns "$name" || return 1
	OV_CNS[$name]=$cns
	out=$(ov_cni "$node" ADD "$cns" "$conf") || {
		echo "CNI ADD of $name on $node failed: $out"
		return 1
	}
	OV_ADDR[$name]=$(ip -n "$cns" -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1]; exit }')
	printf -v "$var" '%s' "$cns"
	[ -n "${OV_ADDR[$name]}" ]
}

ov_peers() { nsx "${OV_NS[$1]}" wg show "${OV_IF[$1]}" allowed-ips 2>/dev/null | awk '{ print $2 }' | sort; }
ov_routes() { ip -n "${OV_NS[$1]}" -4 route show dev "${OV_IF[$1]}" 2>/dev/null | awk '{ print $1 }' | sort; }

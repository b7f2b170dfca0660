# shellcheck shell=bash
# tests/integration/lib/plugin.sh - helpers for the Docker volume plugin tests
# (plugin_*.sh), sourced after common.sh.
#
# Docker finds legacy plugins only in /run/docker/plugins (fixed in dockerd),
# and the driver name is the socket's file name.  So each run serves its own
# driver, shmpipe-$SP_RUN_ID, from /run/docker/plugins/shmpipe-$SP_RUN_ID.sock,
# on its own store under $SP_TMP: test files run in parallel, next to a real
# Docker with a real shmpipe plugin, without meeting.

SP_PLUGIN_BIN=${SP_PLUGIN_BIN:-${BUILD:-$SP_REPO/build}/shmpipe-plugin}
SP_CTL_BIN=${SP_CTL_BIN:-${BUILD:-$SP_REPO/build}/shmpipectl}
SP_DRIVER="shmpipe-$SP_RUN_ID"
SP_PLUGIN_SOCK=/run/docker/plugins/$SP_DRIVER.sock
SP_STORE=$SP_TMP/store
SP_PLUGIN_LOG=$SP_TMP/plugin.log
SP_PLUGIN_PIDFILE=$SP_TMP/plugin.pid
export SP_DRIVER SP_PLUGIN_SOCK SP_STORE SP_PLUGIN_LOG

[[ -x $SP_PLUGIN_BIN ]] || sp_fail "no plugin binary at $SP_PLUGIN_BIN (run make)"

# The socket is outside $SP_TMP: remove it at exit whatever happened (a
# killed plugin leaves it, and every dockerd would keep probing it).
sp_defer rm -f "$SP_PLUGIN_SOCK"

# sp_plugin_pid : the running plugin's pid (from the pidfile; works across
# test-case subshells).
sp_plugin_pid() { cat "$SP_PLUGIN_PIDFILE"; }

# sp_plugin_req ENDPOINT [BODY] : POST BODY to the plugin; prints
# "HTTP-STATUS BODY".  Extra curl options may follow BODY.
sp_plugin_req() {
	local ep=$1 body=${2-} sock=${SP_REQ_SOCK:-$SP_PLUGIN_SOCK} out code rc=0
	shift $(($# < 2 ? $# : 2))
	out=$(mktemp "$SP_TMP/.req.XXXXXX")
	code=$(curl -sS --max-time 10 --unix-socket "$sock" -X POST --data-binary "$body" \
		-o "$out" -w '%{http_code}' "$@" "http://plugin$ep") || rc=$?
	printf '%s %s\n' "$code" "$(cat "$out")"
	rm -f "$out"
	return "$rc"
}

# sp_plugin_config : a config whose docker_socket is this run's dockerd
# (never the host's: its containers do not hold this run's mounts), or a
# path where nothing answers before a dockerd was started; prints its path.
sp_plugin_config() {
	local f=$SP_TMP/plugin-config.json
	printf '{"docker_socket": "%s"}\n' "${SP_DOCKER_DIR:-$SP_TMP/no-dockerd}/docker.sock" >"$f"
	printf '%s\n' "$f"
}

# sp_plugin_start [ARGS...] : start the plugin in the background on the
# run's socket, store and config (sp_plugin_config); wait until it answers
# Plugin.Activate.
sp_plugin_start() {
	"$SP_PLUGIN_BIN" --socket "$SP_PLUGIN_SOCK" --root "$SP_STORE" --config "$(sp_plugin_config)" \
		"$@" >>"$SP_PLUGIN_LOG" 2>&1 &
	echo $! >"$SP_PLUGIN_PIDFILE"
	if ! sp_wait_for 10 _sp_plugin_answers; then
		tail -20 "$SP_PLUGIN_LOG" >&2
		sp_fail "the plugin did not come up"
	fi
}

_sp_plugin_answers() {
	[[ $(sp_plugin_req /Plugin.Activate) == '200 {"Implements":["VolumeDriver"]}' ]]
}

# sp_plugin_stop [SIGNAL] : signal the plugin (default TERM) and wait for it.
sp_plugin_stop() {
	local pid i
	pid=$(sp_plugin_pid 2>/dev/null) || return 0
	kill "-${1:-TERM}" "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	sp_fail "plugin $pid did not stop"
}

# sp_members NAME : number of members in the store's record of NAME.
sp_members() {
	sp_json "$SP_STORE/state/$1.json" 'len(j["members"])'
}

# sp_ctl ARGS... : shmpipectl on the plugin's store and config.
sp_ctl() {
	"$SP_CTL_BIN" --root "$SP_STORE" --config "$(sp_plugin_config)" "$@"
}

# sp_drun ARGS... : docker run ARGS with the run's volume driver.
sp_drun() {
	sp_docker run --volume-driver "$SP_DRIVER" "$@"
}

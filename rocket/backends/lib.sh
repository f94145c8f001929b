# lib.sh: helpers for Rocket backend scripts (POSIX sh, busybox ash).
#
# Source it at the top of a backend, define the functions you need, then
# hand over to rk_main:
#
#     . "${0%/*}/lib.sh"
#     rk_get() { rk_emit Device.Foo.Name "$(hostname)"; }
#     rk_main "$@"
#
# Every value travels on stdin/stdout as an escaped line record (see
# README.md). Values are only ever held in shell variables and printed with
# printf '%s': never eval'ed, never put on a command line of another
# program, never written into a script.
#
# Functions a backend may define (defaults do nothing and succeed):
#   rk_get                 print every parameter with rk_emit / rk_object
#   rk_validate PATH VALUE TYPE   reject with rk_fault CODE MESSAGE
#   rk_stage PATH VALUE TYPE      remember an accepted change
#   rk_commit              make the staged changes effective; rk_status 1 if
#                          they take effect later (service reload, reboot)
#   rk_abort               forget the staged changes
#   rk_add TABLE           create an instance: rk_instance N, then rk_emit its
#                          parameters
#   rk_delete INSTANCE     remove an instance
#   rk_apply               end of session: reload services once

RK_TAB='	'
RK_NL='
'
RK_STATUS=0
RK_FAULTS=0
RK_PATH=
RK_VALUE=
RK_TYPE=

# _rk_rep STRING FROM TO: every FROM replaced by TO, result in _rk_r.
_rk_rep() {
	_rk_s=$1
	_rk_r=
	while :; do
		case $_rk_s in
		*"$2"*)
			_rk_r=$_rk_r${_rk_s%%"$2"*}$3
			_rk_s=${_rk_s#*"$2"}
			;;
		*)
			_rk_r=$_rk_r$_rk_s
			return 0
			;;
		esac
	done
}

# The control characters other than LF, made once, on first need.
_rk_ctl_init() {
	[ -n "$_rk_ctls" ] && return 0
	_rk_ctls=$(printf '\001\002\003\004\005\006\007\010\011\013\014\015\016\017\020\021\022\023\024\025\026\027\030\031\032\033\034\035\036\037\177')
}

# rk_esc VALUE: the escaped form, in RK_ESC.
rk_esc() {
	case $1 in
	*[[:cntrl:]\\]*) ;;
	*)
		RK_ESC=$1
		return 0
		;;
	esac
	if [ ${#1} -gt 4096 ]; then
		# Long values: one sed run does backslashes and TABs in linear time
		# (shell slicing would be quadratic in their number).
		_rk_r=$(printf '%s_' "$1" | sed -e 's/\\/\\\\/g' -e "s/$RK_TAB/\\\\t/g")
		_rk_r=${_rk_r%_}
	else
		_rk_rep "$1" '\' '\\'
	fi
	_rk_rep "$_rk_r" "$RK_NL" '\n'
	case $_rk_r in
	*[[:cntrl:]]*)
		_rk_ctl_init
		_rk_rest=$_rk_ctls
		for _rk_o in 001 002 003 004 005 006 007 010 011 013 014 015 016 017 020 021 \
			022 023 024 025 026 027 030 031 032 033 034 035 036 037 177; do
			_rk_c=${_rk_rest%"${_rk_rest#?}"}
			_rk_rest=${_rk_rest#?}
			case $_rk_r in
			*"$_rk_c"*)
				case $_rk_o in
				011) _rk_rep "$_rk_r" "$_rk_c" '\t' ;;
				015) _rk_rep "$_rk_r" "$_rk_c" '\r' ;;
				*) _rk_rep "$_rk_r" "$_rk_c" "\\0$_rk_o" ;;
				esac
				;;
			esac
		done
		;;
	esac
	RK_ESC=$_rk_r
}

# rk_unesc FIELD: the original text, in RK_VAL (a NUL cannot live in a
# shell variable and is dropped).
rk_unesc() {
	case $1 in
	*\\*)
		RK_VAL=$(printf '%b_' "$1")
		RK_VAL=${RK_VAL%_}
		;;
	*) RK_VAL=$1 ;;
	esac
}

# rk_emit PATH VALUE [TYPE]: one parameter of the answer to get / add.
rk_emit() {
	rk_esc "$1"
	_rk_p=$RK_ESC
	rk_esc "$2"
	if [ $# -ge 3 ]; then
		printf '%s\t%s\t%s\n' "$_rk_p" "$RK_ESC" "$3"
	else
		printf '%s\t%s\n' "$_rk_p" "$RK_ESC"
	fi
}

# rk_object PATH.: an object (or table instance) that may have no parameter.
rk_object() {
	printf '%s\n' "$1"
}

# rk_instance N|KEY: the number (or the key) of the instance rk_add created.
rk_instance() {
	printf 'instance\t%s\n' "$1"
}

# rk_status N: 1 = accepted, takes effect later (SPV/AddObject Status 1).
rk_status() {
	RK_STATUS=$1
}

# rk_fault CODE [MESSAGE]: reject the value of $RK_PATH (9005..9008).
rk_fault() {
	RK_FAULTS=$((RK_FAULTS + 1))
	rk_esc "$RK_PATH"
	_rk_p=$RK_ESC
	rk_esc "${2:-}"
	printf 'fault\t%s\t%s\t%s\n' "$_rk_p" "$1" "$RK_ESC"
}

# rk_log MESSAGE: a diagnostic for the agent's log.
rk_log() {
	printf '%s\n' "$*" >&2
}

# _rk_split LINE: "path TAB value TAB type" -> RK_PATH RK_VALUE RK_TYPE.
_rk_split() {
	_rk_f=${1%%"$RK_TAB"*}
	rk_unesc "$_rk_f"
	RK_PATH=$RK_VAL
	_rk_rest=${1#*"$RK_TAB"}
	[ "$_rk_rest" = "$1" ] && _rk_rest=
	_rk_f=${_rk_rest%%"$RK_TAB"*}
	rk_unesc "$_rk_f"
	RK_VALUE=$RK_VAL
	# (no `case` on the long remainder: pattern matching a long escaped
	# value is slow in some shells; the type is the last field)
	RK_TYPE=${_rk_rest##*"$RK_TAB"}
	[ "$RK_TYPE" = "$_rk_rest" ] && RK_TYPE=string
}

# Defaults: a read-only backend needs only rk_get.
rk_get() { :; }
rk_validate() { :; }
rk_stage() { :; }
rk_commit() { :; }
rk_abort() { :; }
rk_add() {
	rk_log "AddObject is not supported here"
	return 1
}
rk_delete() {
	rk_log "DeleteObject is not supported here"
	return 1
}
rk_apply() { :; }

_rk_set() {
	_rk_in=
	while IFS= read -r _rk_l; do
		_rk_in=$_rk_in$_rk_l$RK_NL
	done
	while IFS= read -r _rk_l; do
		[ -n "$_rk_l" ] || continue
		_rk_split "$_rk_l"
		rk_validate "$RK_PATH" "$RK_VALUE" "$RK_TYPE"
	done <<EOF
$_rk_in
EOF
	[ "$RK_FAULTS" -eq 0 ] || return 0
	if [ "$1" = validate ]; then
		printf 'valid\n'
		return 0
	fi
	while IFS= read -r _rk_l; do
		[ -n "$_rk_l" ] || continue
		_rk_split "$_rk_l"
		rk_stage "$RK_PATH" "$RK_VALUE" "$RK_TYPE" || return 1
	done <<EOF
$_rk_in
EOF
	if [ "$1" = set-commit ]; then
		rk_commit || return 1
		printf 'status\t%s\n' "$RK_STATUS"
	else
		printf 'staged\n'
	fi
}

_rk_read_one() {
	IFS= read -r _rk_l || [ -n "$_rk_l" ] || return 1
	_rk_split "$_rk_l"
}

# rk_main VERB: run the verb the agent asked for (argv[1]).
rk_main() {
	case ${1:-} in
	get) rk_get ;;
	validate | set | set-commit) _rk_set "$1" ;;
	commit)
		rk_commit || exit 1
		printf 'status\t%s\n' "$RK_STATUS"
		;;
	abort) rk_abort ;;
	add)
		_rk_read_one || exit 1
		rk_add "$RK_PATH" || exit 1
		printf 'status\t%s\n' "$RK_STATUS"
		;;
	delete)
		_rk_read_one || exit 1
		rk_delete "$RK_PATH" || exit 1
		printf 'status\t%s\n' "$RK_STATUS"
		;;
	apply) rk_apply ;;
	*)
		rk_log "unknown verb: ${1:-}"
		exit 2
		;;
	esac
}

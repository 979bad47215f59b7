# /etc/profile.d/vigil-rec.sh: record interactive login sessions with `vigil-rec` (Vigil).
#
# Sourced by every sh-compatible login shell. It starts the recorder only for an interactive login
# shell on a terminal, never for scp, sftp, rsync or `ssh host command` (no tty, not interactive),
# never inside a recording (VIGIL_REC_SESSION is set there), and only for the users and groups the
# settings below select. If the recorder is missing or cannot start, the user gets the normal
# shell. When the recorded shell ends, this login shell ends with its status.
#
# Settings (optional), in /etc/vigil/rec.conf, sourced as sh:
#   VIGIL_REC_ENABLE=1                   0 turns recording off on this host
#   VIGIL_REC_BIN=/usr/bin/vigil-rec     the recorder
#   VIGIL_REC_USERS="alice bob"          only these users (empty: everyone)
#   VIGIL_REC_GROUPS="hpcusers"          only members of these groups (empty: every group)
#   VIGIL_REC_EXCLUDE_USERS="root"       never these users
#   VIGIL_REC_EXCLUDE_GROUPS="admins"    never members of these groups

__vigil_rec_maybe() {
    VIGIL_REC_ENABLE=1
    VIGIL_REC_BIN=$(command -v vigil-rec 2>/dev/null || echo /usr/bin/vigil-rec)
    VIGIL_REC_USERS= VIGIL_REC_GROUPS= VIGIL_REC_EXCLUDE_USERS= VIGIL_REC_EXCLUDE_GROUPS=
    [ -r "${VIGIL_REC_CONF:-/etc/vigil/rec.conf}" ] && . "${VIGIL_REC_CONF:-/etc/vigil/rec.conf}"

    [ "$VIGIL_REC_ENABLE" = 1 ] || return 1
    [ -z "${VIGIL_REC_SESSION-}" ] || return 1          # already recorded: never nested
    case $- in *i*) ;; *) return 1 ;; esac              # interactive shells only
    [ -t 0 ] && [ -t 1 ] || return 1                    # a terminal on both sides (not scp/sftp/rsync)
    [ -x "$VIGIL_REC_BIN" ] || return 1

    __vigil_user=$(id -un 2>/dev/null) || return 1
    __vigil_groups=" $(id -Gn 2>/dev/null) "
    for __u in $VIGIL_REC_EXCLUDE_USERS; do [ "$__u" = "$__vigil_user" ] && return 1; done
    for __g in $VIGIL_REC_EXCLUDE_GROUPS; do
        case $__vigil_groups in *" $__g "*) return 1 ;; esac
    done
    if [ -n "$VIGIL_REC_USERS" ]; then
        __found=
        for __u in $VIGIL_REC_USERS; do [ "$__u" = "$__vigil_user" ] && __found=1; done
        [ -n "$__found" ] || return 1
    fi
    if [ -n "$VIGIL_REC_GROUPS" ]; then
        __found=
        for __g in $VIGIL_REC_GROUPS; do
            case $__vigil_groups in *" $__g "*) __found=1 ;; esac
        done
        [ -n "$__found" ] || return 1
    fi
    return 0
}

if __vigil_rec_maybe; then
    # 254: the recorder could not start the session; fall through to the normal shell.
    "$VIGIL_REC_BIN" --login
    __vigil_status=$?
    if [ "$__vigil_status" -ne 254 ]; then
        exit "$__vigil_status"
    fi
fi
unset -f __vigil_rec_maybe 2>/dev/null
unset __vigil_user __vigil_groups __vigil_status __u __g __found \
    VIGIL_REC_ENABLE VIGIL_REC_BIN VIGIL_REC_USERS VIGIL_REC_GROUPS \
    VIGIL_REC_EXCLUDE_USERS VIGIL_REC_EXCLUDE_GROUPS

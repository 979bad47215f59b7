# Vigil recorder: zsh integration. ZDOTDIR points here; each file reads the user's own one.
__vigil_zdotdir=$ZDOTDIR
ZDOTDIR=${VIGIL_REC_USER_ZDOTDIR:-$HOME}
[[ -r $ZDOTDIR/.zshenv ]] && source $ZDOTDIR/.zshenv
VIGIL_REC_USER_ZDOTDIR=$ZDOTDIR
ZDOTDIR=$__vigil_zdotdir

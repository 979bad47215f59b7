ZDOTDIR=$VIGIL_REC_USER_ZDOTDIR
[[ -r $ZDOTDIR/.zprofile ]] && source $ZDOTDIR/.zprofile
VIGIL_REC_USER_ZDOTDIR=$ZDOTDIR
ZDOTDIR=$__vigil_zdotdir

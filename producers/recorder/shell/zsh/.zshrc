ZDOTDIR=$VIGIL_REC_USER_ZDOTDIR
[[ -r $ZDOTDIR/.zshrc ]] && source $ZDOTDIR/.zshrc
# From here on zsh reads the user's files (.zlogin) from their own directory.
if [[ $ZDOTDIR == $HOME ]]; then unset ZDOTDIR; fi
unset VIGIL_REC_USER_ZDOTDIR __vigil_zdotdir

__vigil_esc() {
  local s=$1
  s=${s//\%/%25}
  s=${s//;/%3B}
  s=${s//$'\a'/%07}
  s=${s//$'\e'/%1B}
  print -rn -- "$s"
}
__vigil_preexec() { printf '\e]133;C;%s;%s\a' "$(__vigil_esc "$PWD")" "$(__vigil_esc "$1")"; }
__vigil_precmd() { local s=$?; printf '\e]133;D;%s\a' "$s"; return $s; }
autoload -Uz add-zsh-hook
add-zsh-hook preexec __vigil_preexec
precmd_functions=(__vigil_precmd $precmd_functions)

# SPDX-License-Identifier: MIT
# bash completion for mlsession. Install:
#   cp contrib/mlsession.bash /etc/bash_completion.d/mlsession
# or source it from ~/.bashrc. Session and trace ids are completed from the
# store (--tracking-uri, $MLFLOW_TRACKING_URI, ./mlflow.db) when it answers
# quickly; nothing is written to the store.

_mlsession_uri()
{
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
        --tracking-uri) echo "--tracking-uri ${COMP_WORDS[i + 1]}"; return ;;
        --tracking-uri=*) echo "${COMP_WORDS[i]}"; return ;;
        esac
    done
}

_mlsession_sessions()
{
    # session ids, at most 200, from the JSON of `sessions list`
    timeout 2 mlsession $(_mlsession_uri) -q sessions list --limit 200 --format csv 2>/dev/null |
        tail -n +2 | cut -d, -f1 | tr -d '"'
}

_mlsession()
{
    local cur prev cmd sub i
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD - 1]}"
    local commands="traces experiments sessions turn analyze patterns report correlate mcp"
    local globals="--tracking-uri --quiet --color --no-color --help --version"
    cmd="" sub=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
        --tracking-uri | --color) ((i++)) ;;
        -*) ;;
        *)
            if [ -z "$cmd" ]; then cmd="${COMP_WORDS[i]}"; elif [ -z "$sub" ]; then sub="${COMP_WORDS[i]}"; fi
            ;;
        esac
    done
    case "$prev" in
    --tracking-uri)
        COMPREPLY=($(compgen -f -- "$cur"))
        return ;;
    --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
    --format)
        case "$cmd" in
        sessions) COMPREPLY=($(compgen -W "table json csv md text" -- "$cur")) ;;
        report) COMPREPLY=($(compgen -W "html md" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -W "text json md" -- "$cur")) ;;
        esac
        return ;;
    --output) COMPREPLY=($(compgen -W "table json" -- "$cur")); return ;;
    --sort) COMPREPLY=($(compgen -W "last first turns tokens errors duration" -- "$cur")); return ;;
    --fail-on) COMPREPLY=($(compgen -W "warn error" -- "$cur")); return ;;
    --min-confidence) COMPREPLY=($(compgen -W "low medium high" -- "$cur")); return ;;
    -o | --source) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    if [ -z "$cmd" ]; then
        COMPREPLY=($(compgen -W "$commands $globals" -- "$cur"))
        return
    fi
    case "$cmd" in
    traces)
        [ -z "$sub" ] && { COMPREPLY=($(compgen -W "search get" -- "$cur")); return; }
        COMPREPLY=($(compgen -W "-x --experiment-id --experiment-name --filter-string --order-by --max-results --page-token --include-spans --no-include-spans --output --extract-fields --trace-id --help" -- "$cur")) ;;
    experiments) COMPREPLY=($(compgen -W "list" -- "$cur")) ;;
    sessions)
        [ -z "$sub" ] && { COMPREPLY=($(compgen -W "list show" -- "$cur")); return; }
        if [ "$sub" = show ] && [[ "$cur" != -* ]]; then
            COMPREPLY=($(compgen -W "$(_mlsession_sessions)" -- "$cur"))
            return
        fi
        COMPREPLY=($(compgen -W "-x --experiment-id --experiment-name --filter --sort --asc --limit --format --include-unsessioned --trace-ids --full --help" -- "$cur")) ;;
    analyze | report | correlate)
        if [[ "$cur" != -* ]]; then
            COMPREPLY=($(compgen -W "$(_mlsession_sessions)" -- "$cur"))
            return
        fi
        COMPREPLY=($(compgen -W "--all -x --experiment-id --experiment-name --filter --rules --idle-gap --windows --format --fail-on --source --min-confidence --no-gitignore --title --max-detail -o --output --help" -- "$cur")) ;;
    patterns) COMPREPLY=($(compgen -W "-x --experiment-id --experiment-name --filter --by --top --min-sessions --format --json --help" -- "$cur")) ;;
    turn) COMPREPLY=($(compgen -W "--format --full --help" -- "$cur")) ;;
    mcp) COMPREPLY=($(compgen -W "-x --experiment-id --experiment-name --help" -- "$cur")) ;;
    esac
}
complete -F _mlsession mlsession

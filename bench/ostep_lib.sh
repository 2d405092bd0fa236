# Shared by the OSTEP drop-in benchmarks (homework.sh, paging_policy.sh,
# paging_multilevel.sh): where the original Python simulator is, and how a
# run is timed. Source it; it defines functions only.

original() { # sim -> path of the original, or nothing
    local sim=$1
    if [[ -n ${OSTEP_HOMEWORK:-} ]]; then
        case $sim in
            relocation) echo "$OSTEP_HOMEWORK/vm-mechanism/relocation.py" ;;
            segmentation) echo "$OSTEP_HOMEWORK/vm-segmentation/segmentation.py" ;;
            paging-linear-translate) echo "$OSTEP_HOMEWORK/vm-paging/paging-linear-translate.py" ;;
            paging-multilevel-translate) echo "$OSTEP_HOMEWORK/vm-smalltables/paging-multilevel-translate.py" ;;
            paging-policy) echo "$OSTEP_HOMEWORK/vm-beyondphys-policy/paging-policy.py" ;;
        esac
    elif [[ -n ${OSTEP_ORIGINALS:-} ]]; then
        echo "$OSTEP_ORIGINALS/$sim.py"
    fi
}

seconds() { # command... -> wall-clock seconds, output to /dev/null
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

best_of() { # n command... -> the fastest of n runs (the machine is shared)
    local n=$1 best="" t
    shift
    for ((i = 0; i < n; i++)); do
        t=$(seconds "$@")
        if [[ -z $best ]] || (($(echo "$t < $best" | bc -l))); then best=$t; fi
    done
    echo "$best"
}

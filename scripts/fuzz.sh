#!/usr/bin/env bash
# fuzz.sh runs every Go fuzz target of the module (func FuzzXxx in a
# _test.go file), one after the other, each for a bounded time.
#
# Usage: scripts/fuzz.sh [package pattern ...]      (default: ./...)
#
# Environment:
#   FUZZTIME          time (or count, e.g. 10000x) per target   (default 30s)
#   FUZZMINIMIZETIME  time spent minimizing a new input          (default 5s)
#   FUZZ              regular expression selecting targets       (default: all)
#   FUZZPARALLEL      fuzzing workers per target                 (default: GOMAXPROCS)
#
# A failing input is written by go test to testdata/fuzz/<Target>/ in the
# target's package: commit it, and it runs as a regression test with every
# `go test` (as do the f.Add seeds). The script exits non-zero when any
# target failed, after running them all.
set -euo pipefail

cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-30s}
minimize=${FUZZMINIMIZETIME:-5s}
select=${FUZZ:-.}
patterns=("$@")
if [ ${#patterns[@]} -eq 0 ]; then
	patterns=(./...)
fi
parallel=()
if [ -n "${FUZZPARALLEL:-}" ]; then
	parallel=(-parallel "$FUZZPARALLEL")
fi

# go test -list prints a package's matching tests, then "ok  <package> …".
targets=()
pending=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) pending+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for name in "${pending[@]+"${pending[@]}"}"; do
			if [[ $name =~ $select ]]; then
				targets+=("$pkg $name")
			fi
		done
		pending=()
		;;
	esac
done < <(go test -list '^Fuzz' "${patterns[@]}")

if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz target matches" >&2
	exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, $fuzztime each"

failed=()
for t in "${targets[@]}"; do
	pkg=${t% *}
	name=${t#* }
	echo "=== $name ($pkg)"
	if ! go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "${parallel[@]+"${parallel[@]}"}"; then
		failed+=("$name ($pkg)")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz.sh: ${#failed[@]} of ${#targets[@]} targets failed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	echo "fuzz.sh: the failing inputs are in each package's testdata/fuzz/<Target>/; fix the code, keep the inputs as regression tests" >&2
	exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets passed"

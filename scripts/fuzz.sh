#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan, and runs each for a while
# on a copy of its seed corpus. Exits non-zero when any target finds a crash, a sanitizer report,
# a leak, a hang or a broken check; the input that did it is left in BUILD/artifacts/TARGET/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 60, or FUZZ_SECONDS); TARGETs among csv_reader, webhook, workflow,
# http (default: all). FUZZ_BUILD_DIR (default build/fuzz) is the build folder, a separate one:
# every library in it is compiled with fuzzer coverage. FUZZ_JOBS (default 2) build jobs.
#
# The seed corpora in tests/fuzz/corpus/ are only read: each run fuzzes a fresh copy in the build
# folder. An input worth keeping (a crash, once fixed) is added to the repository's corpus by hand,
# with a GoogleTest case beside the code it broke.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-${FUZZ_SECONDS:-60}}
[ $# -gt 0 ] && shift
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "fuzz.sh: SECONDS must be a positive number of seconds, not '$seconds'" >&2
  exit 2
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(csv_reader webhook workflow http)
build=${FUZZ_BUILD_DIR:-build/fuzz}
jobs=${FUZZ_JOBS:-2}

# The longest input each target is given (bytes): room for a few records, a webhook body, a whole
# shipped workflow (about 10 KiB), a request with headers and a small body.
declare -A max_len=([csv_reader]=8192 [webhook]=2048 [workflow]=16384 [http]=4096)
# webhook and http run the whole engine and a server on threads of their own, so the mallocs and
# frees of one input never balance, and libFuzzer's per-input leak check (a scan of the whole
# heap after every such input) would cut them to a few dozen inputs a second. They leave it to
# LeakSanitizer's check at exit, which still fails the run on memory leaked by any input.
declare -A extra=([csv_reader]="" [webhook]="-detect_leaks=0" [workflow]="" [http]="-detect_leaks=0")
for t in "${targets[@]}"; do
  if [ -z "${max_len[$t]:-}" ]; then
    echo "fuzz.sh: unknown target '$t' (csv_reader, webhook, workflow, http)" >&2
    exit 2
  fi
done

bash scripts/install-deps.sh
runtime=$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null || true)
if ! command -v clang++ >/dev/null || [ ! -f "$runtime" ]; then
  echo "fuzz.sh: needs clang and libFuzzer's runtime (Debian 12: apt-get install clang" \
    "libclang-rt-14-dev)" >&2
  exit 2
fi

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
start=$(date +%s)
# -O1 with line tables: fast enough to fuzz, quick to build, stack traces with lines. Not NDEBUG:
# assertions stay on.
cmake -G Ninja -S . -B "$build" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  -DNEXTIER_FUZZ=ON -DNEXTIER_BUILD_TESTS=OFF -DNEXTIER_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]/#/fuzz_}"
echo "fuzz.sh: built in $(($(date +%s) - start)) s"

symbolizer=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)
[ -z "$symbolizer" ] && [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ] &&
  symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
[ -n "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH="$symbolizer"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  artifacts="$build/artifacts/$t"
  log="$build/logs/$t.log"
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  cp tests/fuzz/corpus/"$t"/* "$corpus"/
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  echo "fuzz.sh: $t for ${seconds} s (max_len ${max_len[$t]}, log $log)"
  status=0
  # shellcheck disable=SC2086 # extra holds whole options
  "$build/tests/fuzz/fuzz_$t" "$corpus" "${dict[@]}" ${extra[$t]} -max_total_time="$seconds" \
    -max_len="${max_len[$t]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
  # webhook and http remove their engines' data folders (tests/fuzz/engine_fixture.h) when they
  # end normally; one that stopped on a finding leaves them. Their paths are in the log.
  { grep -oE 'fuzz engine: [^ ,]*/nextier-fuzz-[A-Za-z0-9]{6}' "$log" || true; } | cut -d' ' -f3 |
    while read -r dir; do rm -rf -- "$dir"; done
  if [ "$status" -ne 0 ]; then
    echo "fuzz.sh: $t FAILED (exit $status); the end of its log:" >&2
    tail -n 60 "$log" >&2
    ls -l "$artifacts" >&2
    failed+=("$t")
  else
    # The last progress line (execs, coverage, corpus) and the final figures.
    grep -E '^#[0-9]+' "$log" | tail -n 1
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" |
      tr '\n' ' '
    echo
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets ran ${seconds} s each without a finding"

#!/usr/bin/env bash
# EngineBenchmark with every engine fast path off (the paths they replaced), then with each one off
# alone, then with all on against mlx_lm.lora. Extra arguments go to every EngineBenchmark run
# (e.g. --warmup 1 --steps 2). Each variant is its own JVM because LORABEAM_ENGINE_OFF is read from
# the environment when an Engine opens. Build first: mvn -q install -DskipTests.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p native/target/bench
cp_file=native/target/bench/classpath.txt
mvn -q -pl native dependency:build-classpath -Dmdep.outputFile="$cp_file" > /dev/null
CP="native/target/classes:$(cat "$cp_file")"
run() {
  echo "=== LORABEAM_ENGINE_OFF=$1 ==="
  LORABEAM_ENGINE_OFF="$1" java -cp "$CP" dev.lorabeam.engine.bench.EngineBenchmark "${@:2}"
}
paths="causal chunked_head shared_lora_a compiled_eval cpu_softmax cpu_sigmoid cpu_lse"
run "${paths// /,}" --engine-only "$@"
for path in $paths; do
  run "$path" --engine-only "$@"
done
run "" "$@"

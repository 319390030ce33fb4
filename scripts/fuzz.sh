#!/usr/bin/env bash
# Fuzz the decoding and validation of everything a client can send, for a bounded time
# (seconds, default 60). Installs the nightly toolchain (minimal profile) and cargo-fuzz when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
mkdir -p fuzz/corpus/decode_events
# Seeds: real payloads of each kind.
printf '%s' '{"orderId":"o1","message":"hi","clientMessageId":"c-1","imageUrl":"https://x/y.png"}' > fuzz/corpus/decode_events/send.json
printf '%s' '{"orderId":"o1","since":3,"limit":50}' > fuzz/corpus/decode_events/join.json
printf '%s' '{"orderId":"o1","isTyping":true}' > fuzz/corpus/decode_events/typing.json
printf '%s' '{"status":"shopping","customer":{"id":"c1","name":"Ada"},"agents":[{"id":"a1","name":"T"}]}' > fuzz/corpus/decode_events/order.json
printf '%s' '{"endpoint":"https://fcm.googleapis.com/fcm/send/abc","keys":{"p256dh":"BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM","auth":"tBHItJI5svbpez7KI4CCXg"}}' > fuzz/corpus/decode_events/subscribe.json
printf '%s' '{"muted":true}' > fuzz/corpus/decode_events/mute.json
printf '%s' 'eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjp7ImlkIjoidSJ9fQ.x' > fuzz/corpus/decode_events/token.txt
cd fuzz
cargo +nightly fuzz run decode_events --sanitizer none --dev -- \
  -max_total_time="$SECONDS_TO_RUN" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tail -n 25

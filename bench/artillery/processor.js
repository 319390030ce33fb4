// Artillery processor of chat.yml: the join, the common start, the warm-up and the pacing.
// The measured sends are Artillery's own `emit` steps (socketio engine), so their emit→ack time
// is Artillery's `socketio.response_time`; nothing here times them.
//
// Environment (set by bench/artillery.sh): ART_VUS (virtual users of the run), ART_RATE
// (send-message per second per user), ART_WARMUP and ART_DURATION (seconds), ART_T0_FILE
// (optional: where to write the wall-clock time, ms, at which the measured window starts).
//
// All virtual users run in one worker thread (an `arrivalCount` phase runs in Artillery's first
// worker only), so the module state below is shared by all of them.
'use strict';

const { writeFileSync } = require('node:fs');
const { performance } = require('node:perf_hooks');

const VUS = Number(process.env.ART_VUS || 200);
const RATE = Number(process.env.ART_RATE || 5);
const WARMUP_MS = Number(process.env.ART_WARMUP || 2) * 1000;
const DURATION_MS = Number(process.env.ART_DURATION || 30) * 1000;
const PERIOD_MS = 1000 / RATE;
// Users that have not joined this long after the first one start late (their ticks are skipped).
const BARRIER_CAP_MS = 20_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

// The common start: once every user has joined (or BARRIER_CAP_MS after the first join),
// 500 ms later. t0 is on performance.now()'s clock.
let joined = 0;
let t0 = null;
let release;
const started = new Promise((resolve) => { release = resolve; });
function startAt(now) {
  if (t0 === null) {
    t0 = now + 500;
    if (process.env.ART_T0_FILE) {
      writeFileSync(process.env.ART_T0_FILE, String(Math.round(performance.timeOrigin + t0 + WARMUP_MS)));
    }
    release();
  }
}

// `join-order-chat` with an ack, on the socket the engine opened (with the token in
// `auth.token`) before the first step. Outside Artillery's emit steps, so the join's ack time
// is not in `socketio.response_time`.
async function joinOrder(context, events) {
  const socket = context.sockets[''];
  const ack = await new Promise((resolve) => {
    // With the socket's ackTimeout option the callback is (err, ack).
    socket.emit('join-order-chat', { orderId: context.vars.orderId }, (err, a) => resolve(err ? { timeout: true } : a));
  });
  if (!ack || ack.ok !== true) {
    const code = ack?.timeout ? 'ACK_TIMEOUT' : ack?.error?.code || 'BAD_ACK';
    events.emit('error', `join:${code}`);
    throw new Error(`join-order-chat: ${code}`);
  }
  events.emit('counter', 'chat.joined', 1);
  joined += 1;
  if (joined === 1) setTimeout(() => startAt(performance.now()), BARRIER_CAP_MS).unref();
  if (joined >= VUS) startAt(performance.now());
  await started;
  // This user's ticks: t0 + offset + k × period, offsets spread over one period (as chat-bench does).
  context.vars.nextTick = t0 + (PERIOD_MS * Number(context.vars.idx)) / VUS;
  context.vars.measureFrom = t0 + WARMUP_MS;
  context.vars.end = t0 + WARMUP_MS + DURATION_MS;
}

// Wait for this user's next tick; a tick already past is sent at once and the later ones stay
// on the grid (missed ticks are skipped, as tokio's MissedTickBehavior::Skip in chat-bench).
async function pace(context) {
  const now = performance.now();
  const tick = context.vars.nextTick;
  if (tick > now) await sleep(tick - now);
  const after = Math.max(performance.now(), tick);
  context.vars.nextTick = tick + PERIOD_MS * Math.max(1, Math.ceil((after - tick) / PERIOD_MS));
}

// The warm-up: the same sends at the same rate for ART_WARMUP seconds, on the raw socket, so
// they are in no Artillery metric (chat-bench does not measure its warm-up either).
async function warmup(context, events) {
  const socket = context.sockets[''];
  let n = 0;
  while (context.vars.nextTick < context.vars.measureFrom) {
    await pace(context);
    const ack = await new Promise((resolve) => {
      socket.emit('send-message', {
        orderId: context.vars.orderId, message: context.vars.text, clientMessageId: `${context.vars.userId}-w${n++}`,
      }, (err, a) => resolve(err ? null : a));
    });
    events.emit('counter', ack && ack.ok === true ? 'chat.warmup_acked' : 'chat.warmup_failed', 1);
  }
}

// After each measured emit: the ack's `ok` was captured as `ackOk` (undefined after an ack
// timeout, whose callback gets only the error).
async function countAck(context, events) {
  const ok = context.vars.ackOk;
  events.emit('counter', ok === true ? 'chat.ack_ok' : ok === false ? 'chat.ack_not_ok' : 'chat.ack_timeout', 1);
  delete context.vars.ackOk;
}

// The loop's condition, checked after each iteration: is the next tick still in the window?
function sending(context, next) {
  return next(context.vars.nextTick < context.vars.end);
}

module.exports = { joinOrder, warmup, pace, countAck, sending };

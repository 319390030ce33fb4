// Preloaded by bench/artillery.sh (`node -r ./no-telemetry.cjs`). Artillery 2.0.21 sends an
// event to app.posthog.com on every run even with ARTILLERY_DISABLE_TELEMETRY set (it then only
// leaves out the properties; lib/telemetry.js). This machine has no route there, and the failing
// lookup held the process ~13 s after the report. The client is replaced by one that sends nothing.
'use strict';
const Module = require('node:module');

class PostHog {
  capture() {}
  async shutdownAsync() {}
}
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'posthog-node') return { PostHog };
  return load.call(this, request, ...rest);
};

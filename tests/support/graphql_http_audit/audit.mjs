// Runs graphql-http's server audits, the GraphQL-over-HTTP spec's checks, against a gateway:
//
//   GATEWAY_TOKEN=<bearer token> node audit.mjs <graphql url>
//
// The suite sends plain requests; its fetchFn adds the token as `Authorization: Bearer`, as
// every client of the gateway does (the gateway answers nothing without one). The token comes
// from the environment, not the command line, so that it stays out of process listings.
//
// Prints one JSON line per audit, in the suite's order: {id, name, status} and, for an audit
// that did not pass, {reason, got: {status, body}}. Exits 0 when every audit is ok, else 1.
import { serverAudits } from "graphql-http";

const [url] = process.argv.slice(2);
const token = process.env.GATEWAY_TOKEN;
if (!url || !token) {
  console.error("usage: GATEWAY_TOKEN=<bearer token> node audit.mjs <graphql url>");
  process.exit(2);
}

function withToken(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

async function got(response) {
  let body;
  try {
    body = await response.text();
  } catch {
    body = null; // already read by the audit
  }
  return { status: response.status, body };
}

let failed = 0;
for (const { fn } of serverAudits({ url, fetchFn: withToken })) {
  const { id, name, status, reason, response } = await fn();
  const line = { id, name, status };
  if (status !== "ok") {
    failed += 1;
    Object.assign(line, { reason, got: await got(response) });
  }
  console.log(JSON.stringify(line));
}
process.exitCode = failed ? 1 : 0;

// Runs one operation over graphql-transport-ws with the reference client, `graphql-ws`, the way
// a browser app does: the token travels in connection_init's payload (connectionParams).
//
//   node client.mjs <ws url> <request json: {query, variables}> [token]
//
// Prints one JSON line per event: {"next": payload}, {"error": errors}, {"complete": true},
// {"closed": {"code", "reason"}}, then exits 0.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, request, token] = process.argv.slice(2);
const print = (event) => console.log(JSON.stringify(event));

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
  retryAttempts: 0,
  lazy: true,
  on: { closed: (event) => print({ closed: { code: event.code, reason: event.reason } }) },
});

await new Promise((resolve) => {
  client.subscribe(JSON.parse(request), {
    next: (payload) => print({ next: payload }),
    error: (error) => {
      // A failed operation's GraphQL errors come as an array; a closed socket as a CloseEvent.
      if (Array.isArray(error)) print({ error });
      resolve();
    },
    complete: () => {
      print({ complete: true });
      resolve();
    },
  });
});
await client.dispose();

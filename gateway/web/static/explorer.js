// GraphiQL on this gateway's /graphql, with one tab per example (headers included).
// Subscriptions go over the WebSocket door, the tab's headers in connection_init's payload.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("explorer-config").textContent);
  var socket = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + config.url;
  var send = GraphiQL.createFetcher({ url: config.url, subscriptionUrl: socket });
  // GraphiQL keeps the previous tab's operation (name and parsed document) until the editor
  // is typed in; a document of one operation is sent as that operation, by its own name.
  var operations = /^\s*(query|mutation|subscription)\s+(\w+)/gm;
  var fetcher = function (params, options) {
    var found = Array.from(params.query.matchAll(operations));
    if (found.length === 1) {
      var name = found[0][2];
      var operation = {
        kind: "OperationDefinition", operation: found[0][1], name: { kind: "Name", value: name }
      };
      params = Object.assign({}, params, { operationName: name });
      options = Object.assign({}, options, {
        operationName: name, documentAST: { kind: "Document", definitions: [operation] }
      });
    }
    return send(params, options);
  };
  var tabs = config.tabs.map(function (tab) {
    return { query: tab.query, variables: tab.variables, headers: tab.headers };
  });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  // The first tab opens with its own editors filled; the others wait in the tab bar.
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultTabs: tabs,
    variables: tabs[0].variables,
    headers: tabs[0].headers,
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false
  }));
})();

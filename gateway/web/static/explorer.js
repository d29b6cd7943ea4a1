// GraphiQL on this gateway's /graphql, with one tab per example (headers included).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("explorer-config").textContent);
  var fetcher = GraphiQL.createFetcher({ url: config.url });
  var tabs = config.tabs.map(function (tab) {
    return { query: tab.query, variables: tab.variables, headers: tab.headers };
  });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  // The first tab opens with its own editors filled; the others wait in the tab bar.
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultTabs: tabs,
    query: tabs[0].query,
    variables: tabs[0].variables,
    headers: tabs[0].headers,
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false
  }));
})();

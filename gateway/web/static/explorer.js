// GraphiQL on this gateway's /graphql, with one tab per example (headers included).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("explorer-config").textContent);
  var fetcher = GraphiQL.createFetcher({ url: config.url });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultTabs: config.tabs.map(function (tab) {
      return { query: tab.query, variables: tab.variables, headers: tab.headers };
    }),
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false
  }));
})();

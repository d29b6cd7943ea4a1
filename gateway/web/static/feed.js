// The live feed: one EventSource on the page's own stream; each accepted invoice becomes a
// row at the top. Money and dates are formatted as the server formats them (vi-VN, ICT).
(function () {
  "use strict";
  var table = document.getElementById("feed");
  var status = document.getElementById("feed-status");
  if (!table || !window.EventSource) return;
  var body = table.querySelector("tbody");
  var money = function (value, currency) {
    var vnd = currency === "VND";
    var text = Number(value).toLocaleString("vi-VN", {
      minimumFractionDigits: vnd ? 0 : 2, maximumFractionDigits: vnd ? 0 : 2
    });
    return vnd ? text + " \u20ab" : text + " " + currency;
  };
  var moment = function (iso) {
    var parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", year: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).format(new Date(iso));
    return parts.replace(",", "");
  };
  var cell = function (row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
  };
  var source = new EventSource(table.dataset.events);
  source.addEventListener("open", function () { status.textContent = status.dataset.waiting; });
  source.addEventListener("invoice", function (event) {
    var invoice = JSON.parse(event.data);
    var row = document.createElement("tr");
    row.dataset.invoiceId = invoice.id;
    cell(row, moment(invoice.receivedAt));
    cell(row, invoice.series + " / " + invoice.number);
    cell(row, invoice.buyerName);
    cell(row, money(invoice.totalPayable, invoice.currency), "num");
    body.insertBefore(row, body.firstChild);
  });
  source.addEventListener("problem", function (event) {
    var problem = JSON.parse(event.data);
    status.textContent = problem.code + " \u00b7 " + problem.message;
    status.className = "problem";
    status.dataset.code = problem.code;
    source.close();
  });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) status.textContent = status.dataset.closed;
  });
})();

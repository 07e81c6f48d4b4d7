// The request log's live feed: new requests arrive over the workspace's WebSocket and go on top.
(function () {
  const table = document.getElementById("request-log");
  if (!table || table.dataset.live !== "on") return;
  const rows = document.getElementById("request-rows");
  const status = document.getElementById("live-status");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/ws/workspaces/${table.dataset.workspace}/requests`;
  let retry = 1000;

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }
  function tag(text, className) {
    const td = document.createElement("td");
    const span = document.createElement("span");
    span.className = "tag " + className;
    span.textContent = text;
    td.appendChild(span);
    return td;
  }
  function money(value) { return "$" + Number(value || 0).toFixed(6); }
  function saved(savings) { return Object.values(savings || {}).reduce((sum, value) => sum + Number(value), 0); }

  function show(request) {
    const empty = rows.querySelector(".no-rows");
    if (empty) empty.remove();
    const tr = document.createElement("tr");
    tr.className = "fresh";
    tr.dataset.requestId = request.request_id;
    const when = new Date().toISOString().replace("T", " ").slice(0, 19);
    tr.append(
      cell(when),
      cell(request.endpoint),
      cell(request.model_used || request.model_requested || "—"),
      request.status_code >= 400 ? tag(`${request.status_code} ${request.error_type}`, "error") : cell(String(request.status_code)),
      tag(request.cache_status, request.cache_status),
      cell(`${request.prompt_tokens} / ${request.completion_tokens}`, "num"),
      cell(money(request.cost_usd), "num"),
      cell(money(saved(request.savings)), "num"),
      cell(`${Number(request.overhead_ms).toFixed(2)} ms`, "num"),
    );
    rows.prepend(tr);
  }

  function connect() {
    const socket = new WebSocket(url);
    socket.onopen = () => { retry = 1000; status.textContent = "Live: new requests appear here."; };
    socket.onmessage = (event) => show(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (event.code === 4401 || event.code === 4404) { status.textContent = "Live updates stopped: no access."; return; }
      status.textContent = "Live updates paused; reconnecting…";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }
  connect();
})();

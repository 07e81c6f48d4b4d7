// The overview's chart (Chart.js, vendored) and the snippet tabs. The data comes from a json_script block.
(function () {
  const tabs = document.querySelectorAll('[role="tab"]');
  tabs.forEach((tab) => tab.addEventListener("click", () => {
    tabs.forEach((other) => {
      other.setAttribute("aria-selected", String(other === tab));
      document.getElementById(other.getAttribute("aria-controls")).hidden = other !== tab;
    });
  }));

  const source = document.getElementById("chart-data");
  const canvas = document.getElementById("savings-chart");
  if (!source || !canvas || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const palette = ["#14161f", "#0a7a4f", "#3b3fd8", "#d97706", "#0891b2", "#9333ea", "#be123c"];
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.days,
      datasets: data.series.map((series, index) => ({
        label: series.label, data: series.values, backgroundColor: palette[index % palette.length], stack: "usd",
        maxBarThickness: 28,
      })),
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      scales: { x: { stacked: true }, y: { stacked: true, ticks: { callback: (value) => "$" + value } } },
      plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: $${item.parsed.y.toFixed(4)}` } } },
    },
  });
})();

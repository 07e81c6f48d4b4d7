// The "Spend by" page's chart (Chart.js, vendored): spent and saved for the top groups, as horizontal bars.
(function () {
  const source = document.getElementById("spend-data");
  const canvas = document.getElementById("spend-chart");
  if (!source || !canvas || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        { label: "Spent", data: data.spent, backgroundColor: "#14161f", maxBarThickness: 22 },
        { label: "Saved", data: data.saved, backgroundColor: "#0a7a4f", maxBarThickness: 22 },
      ],
    },
    options: {
      indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
      scales: { x: { ticks: { callback: (value) => "$" + value } } },
      plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: $${item.parsed.x.toFixed(4)}` } } },
    },
  });
})();

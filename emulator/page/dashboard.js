// The local dashboard: draws /_dashboard/data (the template's widgets over this run's data)
// with plain SVG, refreshing while traffic flows. Every text goes in through textContent.
"use strict";

const UNIT_PX = 34;
const REFRESH_MS = 5000;
const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const SVG = "http://www.w3.org/2000/svg";
let minutes = "15";

function element(tag, attributes, text) {
  const node = tag.startsWith("svg:")
    ? document.createElementNS(SVG, tag.slice(4))
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function time(ms) {
  return new Date(ms).toISOString().slice(11, 16);
}

function drawChart(widget, box, width, height) {
  const lines = widget.lines.filter((line) => line.points.length > 0);
  box.dataset.points = String(lines.reduce((n, line) => n + line.points.length, 0));
  if (lines.length === 0) {
    box.append(element("p", { class: "empty" }, "no data in this range"));
    return;
  }
  const legend = element("div", { class: "legend" });
  lines.forEach((line, i) => {
    const item = element("span", {}, line.label);
    item.style.setProperty("--colour", COLOURS[i % COLOURS.length]);
    legend.append(item);
  });
  box.append(legend);
  // Stacked charts add each line onto the ones before it, point by point.
  const totals = new Map();
  const drawn = lines.map((line) => line.points.map(([t, v]) => {
    const base = widget.stacked ? (totals.get(t) || 0) : 0;
    if (widget.stacked) totals.set(t, base + v);
    return [t, base + v];
  }));
  const all = drawn.flat();
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]));
  const top = Math.max(...all.map((p) => p[1]), 0) || 1;
  const left = 40, bottom = 16, chartWidth = width - left - 8, chartHeight = height - bottom - 4;
  const x = (t) => left + (t1 === t0 ? chartWidth / 2 : ((t - t0) / (t1 - t0)) * chartWidth);
  const y = (v) => 4 + chartHeight - (v / top) * chartHeight;
  const svg = element("svg:svg", { width: String(width), height: String(height) });
  svg.append(element("svg:text", { x: "0", y: "12" }, top.toPrecision(3)));
  svg.append(element("svg:text", { x: "0", y: String(chartHeight + 4) }, "0"));
  svg.append(element("svg:text", { x: String(left), y: String(height - 2) }, time(t0)));
  svg.append(element("svg:text", { x: String(width - 40), y: String(height - 2) }, time(t1)));
  svg.append(element("svg:line", { x1: String(left), x2: String(left + chartWidth),
    y1: String(y(0)), y2: String(y(0)), stroke: "#d5dbdb" }));
  drawn.forEach((points, i) => {
    const path = points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    svg.append(element("svg:polyline", { points: path, fill: "none",
      stroke: COLOURS[i % COLOURS.length], "stroke-width": "1.5" }));
    if (points.length === 1) {
      const [t, v] = points[0];
      svg.append(element("svg:circle", { cx: String(x(t)), cy: String(y(v)), r: "3",
        fill: COLOURS[i % COLOURS.length] }));
    }
  });
  box.append(svg);
}

function drawAlarms(rows, table) {
  for (const alarm of rows) {
    const row = element("tr", { "data-alarm": alarm.id });
    const state = alarm.state || "none";
    row.append(element("td", {}, alarm.name));
    const cell = element("td");
    cell.append(element("span", { class: `state ${state}` }, alarm.state || "not evaluated"));
    row.append(cell);
    row.append(element("td", {}, alarm.since_ms ? `since ${new Date(alarm.since_ms).toISOString()}`
      : (alarm.reason || "")));
    table.append(row);
  }
}

function drawRows(rows, box) {
  box.dataset.points = String(rows.length);
  if (rows.length === 0) {
    box.append(element("p", { class: "empty" }, "no matching access-log lines in this range"));
    return;
  }
  const table = element("table");
  const columns = Object.keys(rows[0]);
  const head = element("tr");
  columns.forEach((name) => head.append(element("th", {}, name)));
  table.append(head);
  for (const row of rows) {
    const line = element("tr");
    columns.forEach((name) => line.append(element("td", {}, String(row[name] ?? "-"))));
    table.append(line);
  }
  box.append(table);
}

function drawText(markdown, box) {
  for (const paragraph of markdown.split("\n")) {
    const heading = paragraph.match(/^(#+)\s+(.*)$/);
    box.append(heading ? element("h2", {}, heading[2]) : element("p", {}, paragraph));
  }
}

function draw(data) {
  const grid = document.getElementById("grid");
  const gridWidth = grid.clientWidth;
  grid.replaceChildren();
  let bottom = 0;
  for (const widget of data.widgets) {
    const box = element("div", { class: "widget", "data-type": widget.type,
      "data-title": widget.title });
    const width = (widget.width / 24) * gridWidth;
    const height = widget.height * UNIT_PX;
    Object.assign(box.style, { left: `${(widget.x / 24) * 100}%`, top: `${widget.y * UNIT_PX}px`,
      width: `${(widget.width / 24) * 100}%`, height: `${height}px` });
    bottom = Math.max(bottom, widget.y * UNIT_PX + height);
    if (widget.title) box.append(element("h2", {}, widget.title));
    if (widget.type === "metric") drawChart(widget, box, width - 18, height - 56);
    else if (widget.type === "alarm") {
      const table = element("table");
      drawAlarms(widget.alarms, table);
      box.dataset.points = String(widget.alarms.length);
      box.append(table);
    } else if (widget.type === "log") drawRows(widget.rows, box);
    else drawText(widget.markdown || "", box);
    grid.append(box);
  }
  grid.style.height = `${bottom}px`;
  const table = document.getElementById("alarms");
  table.replaceChildren();
  drawAlarms(data.alarms, table);
  document.getElementById("updated").textContent = `updated ${new Date().toISOString().slice(11, 19)}Z`;
}

async function refresh() {
  try {
    const answer = await fetch(`data?minutes=${minutes}`);
    if (!answer.ok) throw new Error(`the emulator answered ${answer.status}`);
    draw(await answer.json());
    document.getElementById("error").textContent = "";
  } catch (error) {
    document.getElementById("error").textContent = `cannot refresh: ${error.message}`;
  }
}

for (const button of document.querySelectorAll("button[data-minutes]")) {
  button.addEventListener("click", () => {
    minutes = button.dataset.minutes;
    for (const other of document.querySelectorAll("button[data-minutes]")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
    refresh();
  });
}
refresh();
setInterval(refresh, REFRESH_MS);

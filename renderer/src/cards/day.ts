// Last 24 hours: the chart of each hour's deliveries, fetched when the page opens and again
// with a state at most every 10 seconds (an hour's bar changes slowly; the stream is fast).
import { api } from '../api.js';
import { drawChart } from '../chart.js';
import { byId } from '../dom.js';
import type { Card } from '../page.js';
import type { DayStats } from '../types.js';

const RELOAD_AFTER_MS = 10_000;

let lastChart = 0;

export const day: Card = {
  setUp() {
    void loadChart();
  },
  show() {
    if (Date.now() - lastChart > RELOAD_AFTER_MS) void loadChart();
  },
};

async function loadChart(): Promise<void> {
  lastChart = Date.now();
  const { hours } = await api<DayStats>('GET', '/api/stats/day');
  drawChart(byId('chart'), hours);
}

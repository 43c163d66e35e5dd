// The picture of the day: attempts per hour for 24 hours, stacked by what they led to,
// drawn as inline SVG by the page itself.
import { clock } from './format.js';
import type { HourStats } from './types.js';

const SVG = 'http://www.w3.org/2000/svg';
const KINDS = ['delivered', 'retried', 'failed', 'waiting'] as const;
const WIDTH = 720;
const HEIGHT = 150;
const AXIS = 16;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

export function drawChart(container: HTMLElement, hours: HourStats[]): void {
  const most = Math.max(1, ...hours.map((h) => h.delivered + h.retried + h.failed + h.waiting));
  const slot = WIDTH / hours.length;
  const root = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none' });
  hours.forEach((hour, i) => {
    let top = HEIGHT - AXIS;
    const group = svg('g', {});
    const title = svg('title', {});
    title.textContent = `${clock(hour.from)}–${clock(hour.from + 3_600_000)}: ${KINDS.map((k) => `${hour[k]} ${k}`).join(', ')}`;
    group.append(title);
    for (const kind of KINDS) {
      if (hour[kind] === 0) continue;
      const height = ((HEIGHT - AXIS - 4) * hour[kind]) / most;
      top -= height;
      group.append(svg('rect', { x: i * slot + 2, y: top, width: slot - 4, height, class: kind }));
    }
    group.append(svg('rect', { x: i * slot, y: 0, width: slot, height: HEIGHT - AXIS, fill: 'transparent' }));
    root.append(group);
    if (i % 3 === 0) {
      const label = svg('text', { x: i * slot + 2, y: HEIGHT - 3 });
      label.textContent = clock(hour.from);
      root.append(label);
    }
  });
  container.replaceChildren(root);
}

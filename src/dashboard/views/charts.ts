import uPlot from "uplot";
import type { Stats } from "../api-types";
import { $ } from "../dom";
import { timeTicks } from "../time-ticks";

const HOUR = 3_600_000;
/** Room a tick's label needs on the time axis. */
const TICK_WIDTH_PX = 72;

interface ChartSpec {
  id: string;
  label: string;
  stroke: string;
  value: (point: Stats["series"][number]) => number | null;
}

const CHARTS: readonly ChartSpec[] = [
  { id: "chart-duration", label: "duration", stroke: "#2563eb", value: (point) => point.durationMs },
  { id: "chart-loaded", label: "loaded", stroke: "#059669", value: (point) => point.loaded },
  { id: "chart-success", label: "success", stroke: "#7c3aed", value: (point) => (point.status === "succeeded" ? 1 : point.status === "failed" ? 0 : null) },
];

/**
 * The runs of the stats window over time. The time axis spans from the first run (at least the last hour)
 * to now, with ticks on the pipeline's clock at a step that suits the span (time-ticks.ts).
 */
export class Charts {
  private readonly plots = new Map<string, uPlot>();
  private timezone: string | null = null;
  private range: [number, number] = [0, 1];
  private readonly resize = new ResizeObserver(() => {
    for (const [id, plot] of this.plots) plot.setSize({ width: $(id).clientWidth, height: plot.height });
  });

  draw(stats: Stats, timezone: string, now: number): void {
    if (timezone !== this.timezone) this.reset(timezone);
    const series = stats.series.filter((point) => point.status !== "skipped");
    const first = series[0]?.startTime ?? now;
    this.range = [Math.min(first, now - HOUR) / 1_000, now / 1_000];
    const x = series.map((point) => point.startTime / 1_000);
    for (const spec of CHARTS) {
      const data: uPlot.AlignedData = [x, series.map(spec.value)];
      const plot = this.plots.get(spec.id);
      if (plot) plot.setData(data);
      else this.plots.set(spec.id, this.create(spec, data));
    }
  }

  private reset(timezone: string): void {
    for (const plot of this.plots.values()) plot.destroy();
    this.plots.clear();
    this.timezone = timezone;
  }

  private create(spec: ChartSpec, data: uPlot.AlignedData): uPlot {
    const element = $(spec.id);
    const zone = this.timezone!;
    const ticks = (width: number) => timeTicks(this.range[0] * 1_000, this.range[1] * 1_000, zone, Math.max(2, Math.floor(width / TICK_WIDTH_PX)));
    const plot = new uPlot(
      {
        width: element.clientWidth,
        height: 160,
        scales: { x: { time: true, range: () => this.range } },
        series: [{}, { label: spec.label, stroke: spec.stroke, width: 2, points: { show: true, size: 5 } }],
        axes: [
          {
            splits: (self) => ticks(self.bbox.width / devicePixelRatio).map((tick) => tick.at / 1_000),
            values: (self, splits) => {
              const labels = new Map(ticks(self.bbox.width / devicePixelRatio).map((tick) => [tick.at / 1_000, tick.label]));
              return splits.map((split) => labels.get(split) ?? "");
            },
          },
          { size: 60 },
        ],
        legend: { show: false },
      },
      data,
      element,
    );
    this.resize.observe(element);
    return plot;
  }
}
